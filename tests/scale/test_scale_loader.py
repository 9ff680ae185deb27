"""The scale loader at 1/5,000 of the seed (2 experiments, 200 runs, ~200k points) through the
v1 API, RabbitMQ and a worker process into PostgreSQL: every point stored once, a resumed
points stage stores nothing twice, and the query table answers."""

from pathlib import Path

import pytest
from bench.scale import run_stages
from bench.scale_load import State, log_points, progress_bar
from bench.scale_plan import Plan
from bench.search_shapes import shapes
from sqlalchemy.engine import make_url

from tests.distributed.conftest import (
    WorkerProcess,
    api_client,
    assert_each_point_stored_once,
    distributed_settings,
)

pytestmark = pytest.mark.postgres

SCALE = 0.0002


@pytest.mark.timeout(180)
async def test_scale_load_stores_every_point_once_and_answers_the_query_table(
    tmp_path: Path, pg_url: str, amqp_url: str, workers: list[WorkerProcess]
) -> None:
    plan = Plan.at(SCALE)
    assert plan.experiment_runs == (139, 61)
    dsn = make_url(pg_url).set(drivername="postgresql").render_as_string(hide_password=False)
    workers.append(WorkerProcess(pg_url, amqp_url, tmp_path))
    workers[0].start()
    state_file = tmp_path / "state.json"
    state = State(state_file, plan.scale, plan.seed)
    progress = progress_bar(quiet=True)
    async with api_client(distributed_settings(tmp_path, pg_url, amqp_url)) as (_app, client):
        await run_stages(
            client, dsn, plan, state, clients=4, repeats=2, drain_timeout_s=60, progress=progress
        )
        expected = plan.expected_points()
        await assert_each_point_stored_once(pg_url, expected)

        # A resumed load re-posts the batches after its last checkpoint: stored once still.
        resumed = State.load(state_file)
        assert resumed == state
        resumed.points_runs_done = plan.runs // 2
        with progress:
            await log_points(client, plan, resumed, 4, progress)
        assert resumed.points_runs_done == plan.runs

    await assert_each_point_stored_once(pg_url, expected)
    storage = state.measures["storage"]
    assert storage["points"] == sum(expected.values())
    assert storage["runs"] == plan.runs
    assert storage["series"] == len(expected)
    assert all(size > 0 for size in storage["tables"].values())
    assert storage["wal_bytes"] > 0
    assert set(state.measures["vacuum"]) == {"VACUUM", "ANALYZE"}
    for key in ("queries_before", "queries_after"):
        rows = state.measures[key]
        # Every shape over the largest experiment and the project, then 5 other queries.
        assert len(rows) == 2 * len(shapes(1)) + 5
        assert all(len(row["samples_ms"]) == 2 for row in rows), rows
