"""Edges that read and write the live service (or a stand-in for it)."""
