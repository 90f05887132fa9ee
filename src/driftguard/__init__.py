"""driftguard: keep Exchange Online inbound connectors as approved, and prove it every night."""

from driftguard._version import __version__

# The distribution's name on the package index ("driftguard" there is an unrelated project).
DISTRIBUTION = "driftguard-exo"

__all__ = ["DISTRIBUTION", "__version__"]
