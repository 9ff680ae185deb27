"""`trackboard users` and `trackboard keys` against an embedded database."""

from pathlib import Path

import pytest
from typer.testing import CliRunner

from trackboard.cli.keys import app as keys_cli
from trackboard.cli.main import app as main_cli
from trackboard.cli.users import app as users_cli


@pytest.fixture
def env(tmp_path: Path) -> dict[str, str]:
    return {"TRACKBOARD_HOME": str(tmp_path), "TRACKBOARD_LOG_JSON": "false"}


def test_keys_create_prints_the_key_alone_on_its_last_line(env: dict[str, str]) -> None:
    runner = CliRunner()
    created = runner.invoke(
        keys_cli, ["create", "--project", "vision", "--role", "viewer"], env=env
    )
    assert created.exit_code == 0, created.output
    key = created.output.strip().splitlines()[-1]
    assert key.startswith("tbk_")
    assert " " not in key
    listed = runner.invoke(keys_cli, ["list"], env=env)
    assert listed.exit_code == 0
    assert key[:12] in listed.output
    assert key not in listed.output
    assert "active" in listed.output
    revoked = runner.invoke(keys_cli, ["revoke", key[:12]], env=env)
    assert revoked.exit_code == 0, revoked.output
    assert "revoked" in runner.invoke(keys_cli, ["list", "--project", "vision"], env=env).output
    missing = runner.invoke(keys_cli, ["revoke", "tbk_nothere0"], env=env)
    assert missing.exit_code == 1


def test_keys_create_refuses_an_unknown_role(env: dict[str, str]) -> None:
    result = CliRunner().invoke(keys_cli, ["create", "--project", "p", "--role", "god"], env=env)
    assert result.exit_code != 0


def test_users_create_and_grant(env: dict[str, str]) -> None:
    runner = CliRunner()
    created = runner.invoke(
        users_cli, ["create", "alice", "--password-stdin"], input="long enough pw\n", env=env
    )
    assert created.exit_code == 0, created.output
    weak = runner.invoke(users_cli, ["create", "bob", "--password-stdin"], input="short\n", env=env)
    assert weak.exit_code == 1
    assert "at least 10" in weak.output
    granted = runner.invoke(
        users_cli, ["grant", "alice", "--project", "vision", "--role", "owner"], env=env
    )
    assert granted.exit_code == 0, granted.output


def test_server_refuses_a_public_address_with_auth_off(env: dict[str, str]) -> None:
    result = CliRunner().invoke(main_cli, ["server", "--host", "0.0.0.0"], env=env)
    assert result.exit_code == 2
    assert "--insecure" in result.output
