"""`trackboard server --host` decides which Host names a real server answers by default."""

from pathlib import Path

import httpx

from tests.live_server import live_server

NO_SETTING = {"TRACKBOARD_ALLOWED_HOSTS": "", "TRACKBOARD_AUTH": "off"}


def test_a_loopback_server_refuses_a_rebound_host_name_and_creates_nothing(
    tmp_path: Path,
) -> None:
    with live_server(tmp_path, NO_SETTING) as url:
        api = f"{url}/api/2.0/mlflow/experiments"
        created = httpx.post(
            f"{api}/create", json={"name": "rebound"}, headers={"Host": "evil.example:5005"}
        )
        assert created.status_code == 421
        found = httpx.get(f"{api}/get-by-name", params={"experiment_name": "rebound"})
        assert found.status_code == 404
        assert httpx.get(f"{url}/healthz", headers={"Host": "localhost"}).status_code == 200


def test_a_server_bound_to_all_interfaces_answers_any_host_name(tmp_path: Path) -> None:
    # Auth on: a non-loopback bind with auth off needs --insecure.
    env = {**NO_SETTING, "TRACKBOARD_AUTH": "on"}
    with live_server(tmp_path, env, bind="0.0.0.0") as url:
        response = httpx.get(f"{url}/healthz", headers={"Host": "tracker.example.com"})
        assert response.status_code == 200
