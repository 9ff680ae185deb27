"""The same server pair as tests/mlflow_compat (one per session): MLflow as a source,
Trackboard as the target."""

from collections.abc import Iterator

import pytest

from tests.mlflow_compat.servers import Server, require_mlflow, shared_pair


@pytest.fixture(scope="session")
def server_pair(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Server, Server]]:
    require_mlflow()
    with shared_pair.use(tmp_path_factory.mktemp("servers")) as servers:
        yield servers


@pytest.fixture(scope="session")
def mlflow_source(server_pair: tuple[Server, Server]) -> Server:
    return server_pair[0]


@pytest.fixture(scope="session")
def trackboard(server_pair: tuple[Server, Server]) -> Server:
    return server_pair[1]
