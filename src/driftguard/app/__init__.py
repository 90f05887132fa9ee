"""The application layer: plain functions that wire sources, the core and renderers."""
