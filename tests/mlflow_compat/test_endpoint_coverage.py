"""Every endpoint of MLflow's server is served here, or answered with the feature it belongs
to; and docs/mlflow.md lists every one of MLflow's `/api/2.0` endpoints."""

import re
import warnings
from pathlib import Path

import pytest
from fastapi import FastAPI

from tests.gateway.test_route_table import route_table
from tests.mlflow_compat.servers import require_mlflow
from trackboard.server.artifacts.routes import router as artifacts_router
from trackboard.server.mlflow_compat.routes import router as mlflow_router
from trackboard.server.mlflow_compat.routes import unsupported_feature

DOCS = Path(__file__).parents[2] / "docs" / "mlflow.md"
PREFIX = re.compile(r"^/(?:ajax-)?api/\d\.\d/mlflow/(.*)$")


@pytest.fixture(scope="module")
def mlflow_endpoints() -> set[tuple[str, str]]:
    """(method, path template) of MLflow's REST endpoints, `<id>` written `{id}`."""
    require_mlflow()
    with warnings.catch_warnings():
        # MLflow's server modules use SQLAlchemy APIs that warn; the warnings are not ours.
        warnings.simplefilter("ignore")
        from mlflow.server.handlers import get_endpoints

        endpoints = get_endpoints()  # type: ignore[no-untyped-call]  # MLflow is unannotated
    return {
        (method, re.sub(r"<(?:\w+:)?(\w+)>", r"{\1}", path))
        for path, _, methods in endpoints
        for method in methods
        if PREFIX.match(path)
    }


def served() -> set[tuple[str, str]]:
    app = FastAPI()
    app.include_router(mlflow_router)
    app.include_router(artifacts_router)
    return {
        (method, re.sub(r"\{(\w+):\w+\}", r"{\1}", path))
        for method, path in route_table(app)
        if not path.endswith("{path:path}")
    }


def test_every_mlflow_endpoint_is_served_or_named(mlflow_endpoints: set[tuple[str, str]]) -> None:
    ours = served()
    unnamed = sorted(
        (method, path)
        for method, path in mlflow_endpoints
        if (method, path) not in ours and unsupported_feature(PREFIX.sub(r"\1", path)) is None
    )
    assert unnamed == []


def test_the_docs_list_every_mlflow_v2_endpoint(mlflow_endpoints: set[tuple[str, str]]) -> None:
    listed = set(re.findall(r"\| `mlflow/([^`]+)` \|", DOCS.read_text()))
    paths = {PREFIX.sub(r"\1", path) for _, path in mlflow_endpoints if "/2.0/" in path}
    assert sorted(paths - listed) == []
