"""MLflow endpoints out of Trackboard's scope answer ENDPOINT_NOT_FOUND, naming the feature."""

import httpx
import pytest

from trackboard.server.mlflow_compat.routes import LOG_MODEL_V2, unsupported_feature


@pytest.mark.parametrize(
    ("method", "path", "feature"),
    [
        ("POST", "/api/2.0/mlflow/registered-models/create", "The model registry"),
        ("GET", "/api/2.0/mlflow/model-versions/get", "The model registry"),
        ("GET", "/ajax-api/2.0/mlflow/registered-models/search", "The model registry"),
        ("POST", "/api/2.0/mlflow/runs/log-model", "MLflow 2's log-model record"),
        ("POST", "/api/3.0/mlflow/traces/search", "Tracing"),
        ("GET", "/api/2.0/mlflow/traces", "Tracing"),
        ("POST", "/api/2.0/mlflow/webhooks", "The webhooks API"),
        ("GET", "/ajax-api/3.0/mlflow/jobs/7", "The jobs API"),
        ("GET", "/api/3.0/mlflow/scorers/list", "The scorers API"),
        ("POST", "/api/3.0/mlflow/gateway/endpoints/create", "The AI gateway"),
        ("GET", "/api/3.0/mlflow/prompt-optimization/jobs/search", "Prompt optimization"),
        ("POST", "/api/2.0/mlflow/artifacts/presigned-upload-url", "Presigned artifact URLs"),
    ],
)
async def test_an_unsupported_feature_is_named(
    client: httpx.AsyncClient, method: str, path: str, feature: str
) -> None:
    response = await client.request(method, path, json={} if method != "GET" else None)
    assert response.status_code == 404
    body = response.json()
    assert body["error_code"] == "ENDPOINT_NOT_FOUND"
    assert body["message"].startswith(feature)
    assert body["message"].endswith(
        f" is not supported by Trackboard (API endpoint {method} {path})"
    )


async def test_an_unknown_endpoint_is_named_as_such(client: httpx.AsyncClient) -> None:
    response = await client.get("/api/2.0/mlflow/runs/no-such-thing")
    assert (response.status_code, response.json()) == (
        404,
        {
            "error_code": "ENDPOINT_NOT_FOUND",
            "message": "No API endpoint GET /api/2.0/mlflow/runs/no-such-thing",
        },
    )


def test_the_longest_known_prefix_decides() -> None:
    assert unsupported_feature("runs/log-model") == LOG_MODEL_V2
    assert unsupported_feature("logged-models") is None
    assert unsupported_feature("runs/no-such-thing") is None
    assert unsupported_feature("experiments/search-datasets") == "Dataset search"
    assert unsupported_feature("registered-models/alias") == "The model registry"
