"""A real MLflow server and a real Trackboard server, started together once per session."""

from collections.abc import Iterator

import pytest

from tests.mlflow_compat.servers import (
    Server,
    mlflow_spec,
    require_mlflow,
    running,
    trackboard_spec,
)


@pytest.fixture(scope="session")
def server_pair(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Server, Server]]:
    """(MLflow, Trackboard)."""
    require_mlflow()
    root = tmp_path_factory.mktemp("servers")
    with running(mlflow_spec(root / "mlflow"), trackboard_spec(root / "trackboard")) as servers:
        yield servers[0], servers[1]


@pytest.fixture(scope="session")
def mlflow_reference(server_pair: tuple[Server, Server]) -> Server:
    return server_pair[0]


@pytest.fixture(scope="session")
def trackboard(server_pair: tuple[Server, Server]) -> Server:
    return server_pair[1]
