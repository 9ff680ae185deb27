"""Reach the real backing servers for tests: fail under CI when one is missing, else skip."""

import os
import socket

import pytest

POSTGRES_ADMIN_URL = os.environ.get(
    "TRACKBOARD_TEST_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/test"
)
REDIS_URL = os.environ.get("TRACKBOARD_TEST_REDIS_URL", "redis://127.0.0.1:6379/0")
AMQP_URL = os.environ.get("TRACKBOARD_TEST_AMQP_URL", "amqp://guest:guest@127.0.0.1:5672/")


def port_open(host: str, port: int) -> bool:
    try:
        with socket.create_connection((host, port), timeout=1):
            return True
    except OSError:
        return False


def require_service(name: str, host: str, port: int) -> None:
    """Under CI=true a missing service fails the test; elsewhere the test skips, saying why."""
    if port_open(host, port):
        return
    message = f"{name} is not reachable at {host}:{port}"
    if os.environ.get("CI") == "true":
        pytest.fail(f"{message} (CI=true: tests never skip for a missing service)")
    pytest.skip(message)
