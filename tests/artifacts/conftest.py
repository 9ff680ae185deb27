"""Fixtures of the artifact tests: the suite's app per store (tests/conftest.py), and the
gateway tests' app with auth on and its seeded world, reused as they are."""

from tests.gateway.conftest import auth_app, auth_client, sqlite_settings, world

__all__ = ["auth_app", "auth_client", "sqlite_settings", "world"]
