"""Bad input gets MLflow's error code and status from Trackboard, and never a 5xx.

Each request goes to MLflow's own server and to Trackboard; the (status, error_code) pairs
must match, except where MLflow itself answers 5xx (a bug the client then retries for
minutes): there Trackboard must answer 400 INVALID_PARAMETER_VALUE.
"""

import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import httpx
import pytest

from tests.mlflow_compat.servers import Server

# The first test to use the server pair also waits for both servers to start.
pytestmark = pytest.mark.timeout(900)

API = "/api/2.0/mlflow"
UNKNOWN_RUN = "0123456789abcdef0123456789abcdef"


@dataclass
class Fixture:
    """An experiment, an active run and a deleted run, made the same way on a server."""

    http: httpx.Client
    experiment_id: str
    run_id: str
    deleted_run_id: str


def _setup(server: Server, name: str) -> Fixture:
    http = httpx.Client(base_url=server.url + API, timeout=60)
    experiment_id = http.post("/experiments/create", json={"name": name}).json()["experiment_id"]

    def new_run() -> str:
        body = {"experiment_id": experiment_id, "start_time": 1, "user_id": "u"}
        run_id: str = http.post("/runs/create", json=body).json()["run"]["info"]["run_id"]
        return run_id

    run_id, deleted = new_run(), new_run()
    http.post("/runs/log-parameter", json={"run_id": run_id, "key": "p", "value": "1"})
    http.post("/runs/delete", json={"run_id": deleted})
    return Fixture(http, experiment_id, run_id, deleted)


@pytest.fixture(scope="module")
def fixtures(mlflow_reference: Server, trackboard: Server) -> Iterator[tuple[Fixture, Fixture]]:
    name = f"errors-{uuid.uuid4().hex[:8]}"
    pair = _setup(mlflow_reference, name), _setup(trackboard, name)
    yield pair
    for fixture in pair:
        fixture.http.close()


def _metric(key: str = "m", value: Any = 1.0, timestamp: Any = 1, step: Any = 0) -> dict[str, Any]:
    return {"key": key, "value": value, "timestamp": timestamp, "step": step}


# name: (method, path, arguments); "RUN", "DELETED_RUN" and "EXP" stand for the fixture's ids.
CASES: dict[str, tuple[str, str, Any]] = {
    # unknown ids
    "get unknown run": ("GET", "/runs/get", {"run_id": UNKNOWN_RUN}),
    "get unknown experiment": ("GET", "/experiments/get", {"experiment_id": "987654"}),
    "get unknown experiment name": (
        "GET",
        "/experiments/get-by-name",
        {"experiment_name": "no-such-experiment-x"},
    ),
    "log metric to unknown run": (
        "POST",
        "/runs/log-metric",
        {"run_id": UNKNOWN_RUN, **_metric()},
    ),
    "update unknown run": ("POST", "/runs/update", {"run_id": UNKNOWN_RUN, "status": "FINISHED"}),
    "delete unknown run": ("POST", "/runs/delete", {"run_id": UNKNOWN_RUN}),
    "history of unknown run": (
        "GET",
        "/metrics/get-history",
        {"run_id": UNKNOWN_RUN, "metric_key": "m"},
    ),
    "delete unknown experiment": ("POST", "/experiments/delete", {"experiment_id": "987654"}),
    "run in unknown experiment": ("POST", "/runs/create", {"experiment_id": "987654"}),
    "delete missing tag": ("POST", "/runs/delete-tag", {"run_id": "RUN", "key": "nope"}),
    # invalid keys
    "param key with a star": ("POST", "/runs/log-parameter", {"run_id": "RUN", "key": "a*b"}),
    "param key with ..": ("POST", "/runs/log-parameter", {"run_id": "RUN", "key": "../x"}),
    "param key absolute": ("POST", "/runs/log-parameter", {"run_id": "RUN", "key": "/x"}),
    "param key double slash": ("POST", "/runs/log-parameter", {"run_id": "RUN", "key": "a//b"}),
    "param key missing": ("POST", "/runs/log-parameter", {"run_id": "RUN", "value": "v"}),
    "metric key bad": ("POST", "/runs/log-metric", {"run_id": "RUN", **_metric("a?b")}),
    "tag key trailing slash": (
        "POST",
        "/runs/set-tag",
        {"run_id": "RUN", "key": "x/", "value": "v"},
    ),
    "batch metric key bad": (
        "POST",
        "/runs/log-batch",
        {"run_id": "RUN", "metrics": [_metric("bad key!")]},
    ),
    "experiment tag key bad": (
        "POST",
        "/experiments/set-experiment-tag",
        {"experiment_id": "EXP", "key": "a*b", "value": "v"},
    ),
    # values and lengths
    "param key too long": ("POST", "/runs/log-parameter", {"run_id": "RUN", "key": "k" * 251}),
    "param value too long is truncated": (
        "POST",
        "/runs/log-parameter",
        {"run_id": "RUN", "key": "long", "value": "v" * 7000},
    ),
    "tag value too long is truncated": (
        "POST",
        "/runs/set-tag",
        {"run_id": "RUN", "key": "long", "value": "v" * 9000},
    ),
    "experiment name too long": ("POST", "/experiments/create", {"name": "n" * 501}),
    "experiment name missing": ("POST", "/experiments/create", {}),
    "experiment tag value too long": (
        "POST",
        "/experiments/set-experiment-tag",
        {"experiment_id": "EXP", "key": "k", "value": "v" * 20001},
    ),
    "metric value not a number": (
        "POST",
        "/runs/log-metric",
        {"run_id": "RUN", **_metric(value="x")},
    ),
    "metric timestamp negative": (
        "POST",
        "/runs/log-metric",
        {"run_id": "RUN", **_metric(timestamp=-1)},
    ),
    "metric timestamp missing": (
        "POST",
        "/runs/log-metric",
        {"run_id": "RUN", "key": "m", "value": 1.0},
    ),
    "metric value missing": (
        "POST",
        "/runs/log-metric",
        {"run_id": "RUN", "key": "m", "timestamp": 1},
    ),
    "param changed": ("POST", "/runs/log-parameter", {"run_id": "RUN", "key": "p", "value": "2"}),
    "run name differs from tag": (
        "POST",
        "/runs/create",
        {
            "experiment_id": "EXP",
            "run_name": "a",
            "tags": [{"key": "mlflow.runName", "value": "b"}],
        },
    ),
    "log to a deleted run": ("POST", "/runs/log-metric", {"run_id": "DELETED_RUN", **_metric()}),
    "update a deleted run": ("POST", "/runs/update", {"run_id": "DELETED_RUN", "status": "FAILED"}),
    "run id missing": ("GET", "/runs/get", {}),
    "duplicate experiment": ("POST", "/experiments/create", {"name": "DUPLICATE"}),
    # batches
    "too many metrics": (
        "POST",
        "/runs/log-batch",
        {"run_id": "RUN", "metrics": [_metric(step=i) for i in range(1001)]},
    ),
    "too many params": (
        "POST",
        "/runs/log-batch",
        {"run_id": "RUN", "params": [{"key": f"q{i}", "value": "v"} for i in range(101)]},
    ),
    "too many tags": (
        "POST",
        "/runs/log-batch",
        {"run_id": "RUN", "tags": [{"key": f"t{i}", "value": "v"} for i in range(101)]},
    ),
    "too many entities": (
        "POST",
        "/runs/log-batch",
        {
            "run_id": "RUN",
            "metrics": [_metric(step=i) for i in range(901)],
            "params": [{"key": f"r{i}", "value": "v"} for i in range(100)],
        },
    ),
    "duplicate params in a batch": (
        "POST",
        "/runs/log-batch",
        {"run_id": "RUN", "params": [{"key": "d", "value": "1"}, {"key": "d", "value": "2"}]},
    ),
    # search
    "metric compared with a string": (
        "POST",
        "/runs/search",
        {"experiment_ids": ["EXP"], "filter": "metrics.acc > 'x'"},
    ),
    "param compared with a number": (
        "POST",
        "/runs/search",
        {"experiment_ids": ["EXP"], "filter": "params.lr = 0.1"},
    ),
    "unknown entity": (
        "POST",
        "/runs/search",
        {"experiment_ids": ["EXP"], "filter": "foo.x = 'a'"},
    ),
    "truncated filter": (
        "POST",
        "/runs/search",
        {"experiment_ids": ["EXP"], "filter": "metrics.a >"},
    ),
    "or filter": (
        "POST",
        "/runs/search",
        {"experiment_ids": ["EXP"], "filter": "params.a = 'x' OR params.b = 'y'"},
    ),
    "unknown attribute": (
        "POST",
        "/runs/search",
        {"experiment_ids": ["EXP"], "filter": "attributes.nope = 'x'"},
    ),
    "bad order direction": (
        "POST",
        "/runs/search",
        {"experiment_ids": ["EXP"], "order_by": ["metrics.acc SIDEWAYS"]},
    ),
    "too many results": ("POST", "/runs/search", {"experiment_ids": ["EXP"], "max_results": 50001}),
    "bad page token": ("POST", "/runs/search", {"experiment_ids": ["EXP"], "page_token": "!!"}),
    "experiment filter on metrics": (
        "POST",
        "/experiments/search",
        {"max_results": 10, "filter": "metrics.x > 1"},
    ),
    "experiment filter unknown attribute": (
        "POST",
        "/experiments/search",
        {"max_results": 10, "filter": "nope = 'x'"},
    ),
    "history max_results zero": (
        "GET",
        "/metrics/get-history",
        {"run_id": "RUN", "metric_key": "m", "max_results": "0"},
    ),
}

# Where MLflow accepts nonsense silently (an unknown status is dropped and the update
# "succeeds"), Trackboard says what is wrong.
STRICTER = {
    "unknown status": ("POST", "/runs/update", {"run_id": "RUN", "status": "BOGUS"}),
}

# Where MLflow's own server fails with a 5xx (which its client retries for minutes).
MLFLOW_FAILS = {
    "duplicate order_by": (
        "POST",
        "/runs/search",
        {"experiment_ids": ["EXP"], "order_by": ["metrics.a", "metrics.a DESC"]},
    ),
}


def _substitute(value: Any, fixture: Fixture) -> Any:
    names = {
        "RUN": fixture.run_id,
        "DELETED_RUN": fixture.deleted_run_id,
        "EXP": fixture.experiment_id,
    }
    if isinstance(value, str):
        return names.get(value, value)
    if isinstance(value, list):
        return [_substitute(v, fixture) for v in value]
    if isinstance(value, dict):
        return {k: _substitute(v, fixture) for k, v in value.items()}
    return value


def _send(fixture: Fixture, method: str, path: str, arguments: Any) -> tuple[int, str]:
    arguments = _substitute(arguments, fixture)
    if arguments.get("name") == "DUPLICATE":
        arguments = {
            "name": fixture.http.get(
                "/experiments/get", params={"experiment_id": fixture.experiment_id}
            ).json()["experiment"]["name"]
        }
    if method == "GET":
        response = fixture.http.get(path, params=arguments)
    else:
        response = fixture.http.post(path, json=arguments)
    code = response.json().get("error_code", "") if response.status_code != 200 else ""
    return response.status_code, code


@pytest.mark.parametrize("case", sorted(CASES))
def test_bad_input_gets_mlflows_error_code(case: str, fixtures: tuple[Fixture, Fixture]) -> None:
    reference, ours = fixtures
    method, path, arguments = CASES[case]
    expected = _send(reference, method, path, arguments)
    actual = _send(ours, method, path, arguments)
    assert actual[0] < 500
    assert actual == expected


@pytest.mark.parametrize("case", sorted(MLFLOW_FAILS))
def test_where_mlflow_fails_with_5xx_trackboard_answers_400(
    case: str, fixtures: tuple[Fixture, Fixture]
) -> None:
    reference, ours = fixtures
    method, path, arguments = MLFLOW_FAILS[case]
    assert _send(reference, method, path, arguments)[0] >= 500
    assert _send(ours, method, path, arguments) == (400, "INVALID_PARAMETER_VALUE")


@pytest.mark.parametrize("case", sorted(STRICTER))
def test_nonsense_mlflow_ignores_is_a_400_here(
    case: str, fixtures: tuple[Fixture, Fixture]
) -> None:
    reference, ours = fixtures
    method, path, arguments = STRICTER[case]
    assert _send(reference, method, path, arguments)[0] == 200
    assert _send(ours, method, path, arguments) == (400, "INVALID_PARAMETER_VALUE")


def test_long_values_are_truncated_as_mlflow_does(fixtures: tuple[Fixture, Fixture]) -> None:
    for fixture in fixtures:
        run_id = fixture.run_id
        fixture.http.post(
            "/runs/log-parameter", json={"run_id": run_id, "key": "lp", "value": "v" * 7000}
        )
        fixture.http.post(
            "/runs/set-tag", json={"run_id": run_id, "key": "lt", "value": "t" * 9000}
        )
        data = fixture.http.get("/runs/get", params={"run_id": run_id}).json()["run"]["data"]
        params = {p["key"]: p["value"] for p in data["params"]}
        tags = {t["key"]: t["value"] for t in data["tags"]}
        assert (len(params["lp"]), len(tags["lt"])) == (6000, 8000)
