"""Experiments: create, list, rename, tag, soft-delete and restore."""
