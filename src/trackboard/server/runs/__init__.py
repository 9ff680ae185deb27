"""Runs: lifecycle, status, params (immutable) and tags."""
