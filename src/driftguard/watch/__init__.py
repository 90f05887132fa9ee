"""Continuous monitoring: sweeps on a schedule, state in SQLite, notifications on a change."""
