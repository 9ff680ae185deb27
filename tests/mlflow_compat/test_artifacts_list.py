"""MLflow's `artifacts/list` over ASGI: a run's files from the store the proxy writes to."""

import httpx
import pytest

from tests.mlflow_compat.test_api import API, ARTIFACTS, mlflow_call, new_run

AJAX = "/ajax-api/2.0/mlflow"


async def run_with_files(client: httpx.AsyncClient) -> tuple[str, str]:
    """A run holding `notes.txt` (5 bytes) and `sub/dir/x.json` (2 bytes)."""
    experiment_id, run_id = await new_run(client)
    root = f"{ARTIFACTS}/{experiment_id}/{run_id}/artifacts"
    assert (await client.put(f"{root}/notes.txt", content=b"hello")).status_code == 200
    assert (await client.put(f"{root}/sub/dir/x.json", content=b"{}")).status_code == 200
    return experiment_id, run_id


async def listing(client: httpx.AsyncClient, prefix: str = API, **params: str) -> httpx.Response:
    return await client.get(prefix + "/artifacts/list", params=params)


async def test_the_root_lists_files_with_sizes_and_folders_without(
    client: httpx.AsyncClient,
) -> None:
    experiment_id, run_id = await run_with_files(client)
    body = (await listing(client, run_id=run_id)).json()
    assert body == {
        "root_uri": f"mlflow-artifacts:/{experiment_id}/{run_id}/artifacts",
        "files": [
            {"path": "notes.txt", "is_dir": False, "file_size": 5},
            {"path": "sub", "is_dir": True},
        ],
    }
    run = await mlflow_call(client, "GET", "/runs/get", {"run_id": run_id})
    assert body["root_uri"] == run["run"]["info"]["artifact_uri"]


async def test_a_folder_lists_paths_from_the_run_root(client: httpx.AsyncClient) -> None:
    _, run_id = await run_with_files(client)
    for path in ("sub/dir", "sub/dir/", "./sub/dir"):
        body = (await listing(client, AJAX, run_uuid=run_id, path=path)).json()
        assert body["files"] == [{"path": "sub/dir/x.json", "is_dir": False, "file_size": 2}]


async def test_a_file_or_missing_folder_lists_nothing(client: httpx.AsyncClient) -> None:
    experiment_id, run_id = await run_with_files(client)
    root_uri = f"mlflow-artifacts:/{experiment_id}/{run_id}/artifacts"
    for path in ("notes.txt", "no/such/folder"):
        assert (await listing(client, run_id=run_id, path=path)).json() == {"root_uri": root_uri}


@pytest.mark.parametrize(
    "path", ["../x", "sub/../../x", "/etc", "%2e%2e/x", "a%252F..%252Fb", "a\\b", "a#b", "C:x"]
)
async def test_a_path_leaving_the_run_is_an_invalid_path(
    client: httpx.AsyncClient, path: str
) -> None:
    _, run_id = await run_with_files(client)
    response = await listing(client, run_id=run_id, path=path)
    assert (response.status_code, response.json()) == (
        400,
        {"error_code": "INVALID_PARAMETER_VALUE", "message": "Invalid path"},
    )


async def test_an_unknown_or_missing_run_is_refused(client: httpx.AsyncClient) -> None:
    unknown = await listing(client, run_id="0123456789abcdef0123456789abcdef")
    assert (unknown.status_code, unknown.json()["error_code"]) == (404, "RESOURCE_DOES_NOT_EXIST")
    missing = await listing(client)
    assert (missing.status_code, missing.json()["error_code"]) == (400, "INVALID_PARAMETER_VALUE")


async def test_a_run_whose_artifacts_are_elsewhere_is_not_listed(
    client: httpx.AsyncClient,
) -> None:
    """An experiment's artifact location may name another experiment's folder: never read."""
    other_experiment, other_run = await run_with_files(client)
    created = await mlflow_call(
        client,
        "POST",
        "/experiments/create",
        {"name": "elsewhere", "artifact_location": f"mlflow-artifacts:/{other_experiment}"},
    )
    body = {"experiment_id": created["experiment_id"], "start_time": 1}
    run_id = (await mlflow_call(client, "POST", "/runs/create", body))["run"]["info"]["run_id"]
    response = await listing(client, run_id=run_id)
    assert (response.status_code, response.json()["error_code"]) == (400, "INVALID_PARAMETER_VALUE")
    assert other_run not in response.text
