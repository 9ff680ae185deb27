"""`trackboard.Api` follows pages and returns dataclasses (and DataFrames with pandas)."""

from __future__ import annotations

import math
from collections.abc import Iterator

import pytest

import trackboard
from tests.client.conftest import StartRun
from tests.client.fake_server import FakeServer


@pytest.fixture
def api(fake: FakeServer) -> Iterator[trackboard.Api]:
    with trackboard.Api(
        "http://trackboard.test", retry_for=1.0, http_transport=fake.transport()
    ) as reader:
        yield reader


def test_history_follows_pages_and_decodes_non_finite_values(
    fake: FakeServer, start: StartRun, api: trackboard.Api
) -> None:
    fake.page_size = 7
    run = start()
    for step in range(20):
        run.log({"loss": math.nan if step == 3 else step * 1.5})
    run.finish()
    history = api.history(run.id, "loss")
    assert len(history) == 20
    assert history.steps == list(range(20))
    assert math.isnan(history.values[3])
    assert history.values[4] == 6.0
    assert ("GET", f"/runs/{run.id}/metrics/loss") in fake.requests


def test_runs_searches_by_experiment_name_with_filter_order_and_pages(
    fake: FakeServer, start: StartRun, api: trackboard.Api
) -> None:
    fake.page_size = 2
    ids = [start("exp-a", config={"i": i}).id for i in range(5)]
    start("exp-b")
    runs = api.runs("exp-a", filter="params.i > '1'", order_by="metrics.acc DESC")
    assert [r.id for r in runs] == ids
    assert isinstance(runs[0], trackboard.RunInfo)
    body = fake.search_bodies[0]
    assert body["experiment_ids"] == [1]
    assert body["filter"] == "params.i > '1'"
    assert body["order_by"] == ["metrics.acc DESC"]
    assert len(fake.search_bodies) == 3
    assert [r.id for r in api.runs(1, limit=3)] == ids[:3]


def test_experiments_are_listed_and_found_by_name(
    fake: FakeServer, start: StartRun, api: trackboard.Api
) -> None:
    fake.page_size = 1
    start("one")
    start("two/with slash")
    assert [e.name for e in api.experiments()] == ["one", "two/with slash"]
    assert api.experiment("two/with slash").id == 2
    assert api.experiment(1).name == "one"
    assert api.run(next(iter(fake.runs))).experiment_id == 1


def test_reads_wait_out_a_short_outage(fake: FakeServer, api: trackboard.Api) -> None:
    fake.fail(503, 2, retry_after="0")
    assert api.experiments() == []


def test_to_pandas_builds_frames_or_says_what_to_install(
    fake: FakeServer, start: StartRun, api: trackboard.Api
) -> None:
    run = start("p", config={"lr": 0.1})
    run.log({"acc": 0.5})
    run.finish()
    try:
        import pandas  # noqa: F401
    except ImportError:
        with pytest.raises(ImportError, match="pip install pandas"):
            api.history(run.id, "acc").to_pandas()
        return
    frame = api.history(run.id, "acc").to_pandas()
    assert list(frame.columns) == ["step", "value", "timestamp"]
    assert frame["value"].tolist() == [0.5]
    runs = api.runs("p").to_pandas()
    assert runs.loc[0, "params.lr"] == "0.1"
    assert api.experiments().to_pandas()["name"].tolist() == ["p"]
