"""The one version source: setuptools reads it into the package metadata (pyproject.toml)."""

__version__ = "0.2.0"
