"""`flush` and `finish` return once the points are readable: against a server that queues
batches (202) and writes them later, they wait for the commit through the batch status
route; what they cannot wait for is told in a warning, and an offline run never waits."""

from __future__ import annotations

import math
import time

import pytest

from tests.client.conftest import StartRun
from tests.client.fake_server import FakeServer
from trackboard.client.api import Api
from trackboard.client.batch_status import PRUNE_EVERY
from trackboard.client.read_after import ReadPositions
from trackboard.client.settings import ClientSettings
from trackboard.client.spool import SpoolReader, spool_path


def test_flush_returns_once_queued_batches_are_written(fake: FakeServer, start: StartRun) -> None:
    fake.commit_delay = 0.3
    run = start()
    for step in range(50):
        run.log({"loss": 1 / (step + 1)})
    assert run.flush(timeout=10)
    # Readable at once: no waiting for a worker after flush returned.
    assert len(fake.series(run.id, "loss")) == 50
    assert fake.status_requests


def test_flush_asks_nothing_when_the_server_committed_each_batch(
    fake: FakeServer, start: StartRun
) -> None:
    run = start()
    run.log({"loss": 0.5})
    assert run.flush(timeout=10)
    assert fake.series(run.id, "loss") == [(0, 0.5)]
    assert fake.status_requests == []


def test_flush_times_out_with_a_warning_when_no_worker_writes(
    fake: FakeServer, start: StartRun, caplog: pytest.LogCaptureFixture
) -> None:
    fake.commit_delay = math.inf
    run = start()
    run.log({"loss": 0.5})
    started = time.monotonic()
    assert not run.flush(timeout=0.5)
    assert time.monotonic() - started < 3
    warnings = [r.getMessage() for r in caplog.records if "queued batches" in r.getMessage()]
    assert len(warnings) == 1
    assert "flush of run" in warnings[0]
    assert "timed out" in warnings[0]


def test_finish_waits_until_an_api_in_the_process_reads_every_point(
    fake: FakeServer, start: StartRun, settings: ClientSettings
) -> None:
    fake.commit_delay = 0.3
    with start(config={"lr": 0.01}) as run:
        for step in range(100):
            run.log({"loss": 1 / (step + 1)})
    with Api(settings.url, http_transport=fake.transport()) as api:
        history = api.history(run.id, "loss")
    assert len(history) == 100
    assert history.values[-1] == 1 / 100
    assert fake.runs[run.id].status == "FINISHED"
    # The reader sent the commit position the run's status check was handed.
    assert fake.read_after_seen
    assert fake.read_after_seen[-1] is not None


def test_finish_at_exit_leaves_queued_batches_to_the_worker_without_waiting(
    fake: FakeServer, start: StartRun, caplog: pytest.LogCaptureFixture
) -> None:
    fake.commit_delay = math.inf
    run = start()
    run.log({"loss": 0.5})
    started = time.monotonic()
    run._finish_at_exit()
    assert time.monotonic() - started < 2
    assert fake.runs[run.id].status == "FINISHED"
    assert fake.status_requests == []
    assert not [r for r in caplog.records if "queued batches" in r.getMessage()]


def test_finish_warns_when_queued_batches_are_not_written_in_time(
    fake: FakeServer, start: StartRun, caplog: pytest.LogCaptureFixture
) -> None:
    fake.commit_delay = math.inf
    run = start()
    run.log({"loss": 0.5})
    started = time.monotonic()
    run.finish(timeout=0.5)
    assert time.monotonic() - started < 3
    warnings = [r.getMessage() for r in caplog.records if "queued batches" in r.getMessage()]
    assert len(warnings) == 1
    assert "finish of run" in warnings[0]


def test_an_offline_flush_spools_the_buffer_and_returns_false_at_once(
    start: StartRun, settings: ClientSettings
) -> None:
    run = start(settings_changes={"mode": "offline"})
    run.log({"loss": 0.5})
    started = time.monotonic()
    assert not run.flush(timeout=30)
    assert time.monotonic() - started < 1
    reader = SpoolReader(spool_path(settings.spool_dir, run.id))
    kinds = []
    while (following := reader.peek()) is not None:
        kinds.append(following[0]["kind"])
        reader.ack(following[1])
    reader.close()
    assert kinds == ["create_run", "metrics"]


def test_queued_batch_ids_are_confirmed_as_the_run_goes(fake: FakeServer, start: StartRun) -> None:
    fake.commit_delay = 0.0
    run = start(settings_changes={"max_batch_points": 1})
    for step in range(PRUNE_EVERY + 50):
        run.log({"loss": float(step)})
    assert run.flush(timeout=20)
    # The sender asked about the first 100 ids while sending; flush only about the rest.
    assert len(fake.status_requests[0]) == PRUNE_EVERY
    assert sum(len(ids) for ids in fake.status_requests) == PRUNE_EVERY + 50
    assert len(fake.series(run.id, "loss")) == PRUNE_EVERY + 50


def test_read_positions_keep_the_furthest_valid_one_per_server() -> None:
    positions = ReadPositions()
    positions.note("http://a", "0/10")
    positions.note("http://a", "0/F")
    positions.note("http://a", "not a position")
    positions.note("http://b", "1/0")
    assert positions.header("http://a") == "0/10"
    assert positions.header("http://b") == "1/0"
    assert positions.header("http://c") is None
