"""driftguard: keep Exchange Online inbound connectors as approved, and prove it every night."""

__version__ = "0.1.0"
