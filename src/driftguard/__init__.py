"""driftguard: keep Exchange Online inbound connectors as approved, and prove it every night."""

from importlib.metadata import PackageNotFoundError, version

# The distribution's name on the package index ("driftguard" there is an unrelated project).
DISTRIBUTION = "driftguard-exo"

try:
    # The one version source is pyproject.toml, read back from the installed package metadata.
    __version__ = version(DISTRIBUTION)
except PackageNotFoundError:  # a source tree on sys.path that was never installed
    __version__ = "0+unknown"
