"""What the sender does when the server is away, slow, throttling or refusing: every point
arrives once, in order, and nothing is retried forever."""

from __future__ import annotations

import json
import threading
import time
import tracemalloc
from pathlib import Path

import httpx
import pytest

from tests.client.conftest import StartRun
from tests.client.fake_server import FakeServer
from trackboard.client.settings import ClientSettings
from trackboard.client.spool import find_spools


def _log_steps(run_log: object, steps: range, pause: float = 0.0) -> None:
    for step in steps:
        run_log({"loss": step / 10, "acc": step}, step=step)  # type: ignore[operator]
        if pause:
            time.sleep(pause)


def _assert_exactly_once(fake: FakeServer, run_id: str, n: int) -> None:
    assert fake.series(run_id, "loss") == [(s, s / 10) for s in range(n)]
    assert fake.series(run_id, "acc") == [(s, float(s)) for s in range(n)]


def test_503_and_429_are_retried_until_every_point_is_stored_once(
    fake: FakeServer, start: StartRun
) -> None:
    run = start()
    fake.fail(503, 5, retry_after="0")
    _log_steps(run.log, range(100))
    fake.fail(429, 5)
    _log_steps(run.log, range(100, 200))
    run.finish()
    _assert_exactly_once(fake, run.id, 200)
    assert fake.runs[run.id].status == "FINISHED"


def test_retry_after_is_waited_for(fake: FakeServer, start: StartRun) -> None:
    run = start()
    fake.fail(429, 1, retry_after="1")
    began = time.monotonic()
    run.log({"x": 1})
    assert run.flush(timeout=10)
    assert time.monotonic() - began >= 1.0
    assert fake.series(run.id, "x") == [(0, 1.0)]


def test_a_lost_answer_does_not_double_the_batch(fake: FakeServer, start: StartRun) -> None:
    run = start()
    fake.lose_answers = 3
    _log_steps(run.log, range(50))
    run.finish()
    _assert_exactly_once(fake, run.id, 50)


def test_points_logged_while_the_server_is_down_are_spooled_then_sent_in_order(
    fake: FakeServer, start: StartRun, settings: ClientSettings
) -> None:
    run = start()
    _log_steps(run.log, range(20))
    assert run.flush(timeout=5)
    fake.down = True
    _log_steps(run.log, range(20, 60), pause=0.002)
    spool = settings.spool_dir / f"{run.id}.jsonl"
    deadline = time.monotonic() + 5
    while not spool.exists() and time.monotonic() < deadline:
        time.sleep(0.01)
    assert spool.exists(), "an outage must put points on disk"
    fake.down = False
    _log_steps(run.log, range(60, 80))
    run.finish()
    _assert_exactly_once(fake, run.id, 80)
    assert not spool.exists(), "a drained spool is removed"
    metric_posts = [p for m, p in fake.requests if m == "POST" and p.endswith("/metrics")]
    assert metric_posts


def test_a_refused_write_is_reported_once_with_the_server_message_and_not_retried(
    fake: FakeServer, start: StartRun, caplog: pytest.LogCaptureFixture
) -> None:
    run = start(config={"lr": 0.1})
    run.log_params({"lr": 0.2})
    run.log_params({"lr": 0.3})
    run.log({"x": 1})
    run.finish()
    refused = [r.getMessage() for r in caplog.records if "refused" in r.getMessage()]
    assert len(refused) == 1
    assert "param 'lr' already set" in refused[0]
    assert fake.requests.count(("POST", f"/runs/{run.id}/params")) == 2
    assert fake.series(run.id, "x") == [(0, 1.0)]
    assert fake.runs[run.id].status == "FINISHED"


def test_finish_with_the_server_down_leaves_everything_in_the_spool(
    fake: FakeServer, start: StartRun, settings: ClientSettings, caplog: pytest.LogCaptureFixture
) -> None:
    run = start()
    fake.down = True
    _log_steps(run.log, range(30))
    began = time.monotonic()
    run.finish(timeout=0.5)
    assert time.monotonic() - began < 3.0, "finish is bounded in time"
    assert fake.runs[run.id].status == "RUNNING"
    spools = find_spools(settings.spool_dir)
    assert [p.name for p in spools] == [f"{run.id}.jsonl"]
    kinds = [json.loads(line)["kind"] for line in spools[0].read_text().splitlines()]
    assert kinds[0] == "run"
    assert kinds[-1] == "status"
    assert "metrics" in kinds
    assert any("trackboard sync" in r.getMessage() for r in caplog.records)


def test_a_run_started_while_the_server_is_down_is_created_when_it_returns(
    fake: FakeServer, start: StartRun
) -> None:
    fake.down = True
    run = start("later", config={"lr": 0.1})
    assert fake.runs == {}
    _log_steps(run.log, range(10))
    fake.down = False
    run.finish()
    assert fake.experiments == {1: "later"}
    assert fake.runs[run.id].params == {"lr": "0.1"}
    assert fake.runs[run.id].status == "FINISHED"
    _assert_exactly_once(fake, run.id, 10)


def test_past_the_memory_bound_points_go_to_the_spool_and_none_is_dropped(
    fake: FakeServer, start: StartRun, settings: ClientSettings
) -> None:
    gate = threading.Event()
    handle = fake.handle

    def slow_metrics(request: httpx.Request) -> httpx.Response:
        if request.url.path.endswith("/metrics"):
            gate.wait(10)
        return handle(request)

    fake.handle = slow_metrics  # type: ignore[method-assign]
    run = start(settings_changes={"max_buffer_bytes": 50_000, "flush_interval": 30.0})
    _log_steps(run.log, range(20_000))
    spool = settings.spool_dir / f"{run.id}.jsonl"
    deadline = time.monotonic() + 5
    while not spool.exists() and time.monotonic() < deadline:
        time.sleep(0.01)
    assert spool.exists(), "past the bound, points must go to disk"
    gate.set()
    run.finish()
    _assert_exactly_once(fake, run.id, 20_000)


def test_refused_credentials_mid_run_keep_the_run_on_disk(
    fake: FakeServer, start: StartRun, settings: ClientSettings, caplog: pytest.LogCaptureFixture
) -> None:
    run = start()
    fake.auth_key = "rotated"
    _log_steps(run.log, range(5))
    run.finish()
    assert (settings.spool_dir / f"{run.id}.jsonl").exists()
    assert any("refused the credentials" in r.getMessage() for r in caplog.records)


def test_the_spool_folder_is_under_trackboard_home(
    settings: ClientSettings, tmp_path: Path
) -> None:
    assert settings.spool_dir == tmp_path / "home" / "spool"


def test_while_a_request_hangs_waiting_points_go_to_disk_after_a_flush_interval(
    fake: FakeServer, start: StartRun, settings: ClientSettings
) -> None:
    gate = threading.Event()
    handle = fake.handle

    def hanging_metrics(request: httpx.Request) -> httpx.Response:
        if request.url.path.endswith("/metrics"):
            gate.wait(10)
        return handle(request)

    fake.handle = hanging_metrics  # type: ignore[method-assign]
    run = start(settings_changes={"flush_interval": 0.1})
    run.log({"loss": 0.0, "acc": 0.0}, step=0)
    time.sleep(0.3)  # the first batch is now hanging
    spool = settings.spool_dir / f"{run.id}.jsonl"
    _log_steps(run.log, range(1, 40), pause=0.01)
    assert spool.exists()
    assert spool.read_text().count('"kind":"metrics"') >= 2, "hung batch and later ones on disk"
    gate.set()
    run.finish()
    _assert_exactly_once(fake, run.id, 40)


def test_memory_stays_bounded_when_training_logs_faster_than_the_client_can_send(
    fake: FakeServer, start: StartRun, settings: ClientSettings
) -> None:
    gate = threading.Event()
    handle = fake.handle

    def hanging_metrics(request: httpx.Request) -> httpx.Response:
        if request.url.path.endswith("/metrics"):
            gate.wait(30)
        return handle(request)

    fake.handle = hanging_metrics  # type: ignore[method-assign]
    bound = 1024 * 1024
    run = start(settings_changes={"max_buffer_bytes": bound, "flush_interval": 60.0})
    tracemalloc.start()
    try:
        baseline = tracemalloc.get_traced_memory()[0]
        # Unbounded, these 50,000 calls would hold ~18 MB (tracemalloc makes each call
        # slow, so the bound is small rather than the run long).
        _log_steps(run.log, range(50_000))
        peak = tracemalloc.get_traced_memory()[1] - baseline
    finally:
        tracemalloc.stop()
    gate.set()
    run.finish(timeout=60)
    assert peak < 4 * bound, f"peak {peak / 2**20:.1f} MiB for a {bound / 2**20:.0f} MiB bound"
    _assert_exactly_once(fake, run.id, 50_000)


def test_run_writes_the_server_queues_for_replay_are_taken_in_order_with_request_ids(
    fake: FakeServer, start: StartRun
) -> None:
    fake.replay_writes = True  # the server's database is away, its broker is there
    run = start(config={"lr": 0.1})
    run.log_params({"layers": 4})
    run.set_tags({"phase": "done"})
    run.finish()
    assert fake.runs == {}  # nothing applied yet, and the script is done
    writes = [(method, path.rsplit("/", 1)[-1]) for method, path, _ in fake.replay_queue]
    assert writes == [("POST", "runs"), ("POST", "params"), ("POST", "tags"), ("PATCH", run.id)]
    request_ids = [body.get("request_id") for _, _, body in fake.replay_queue[1:]]
    assert None not in request_ids
    assert len(set(request_ids)) == 3
    fake.replay()
    stored = fake.runs[run.id]
    assert stored.params == {"lr": "0.1", "layers": "4"}
    assert stored.tags["phase"] == "done"
    assert stored.status == "FINISHED"


def test_a_write_that_finds_its_queued_run_not_yet_replayed_is_retried(
    fake: FakeServer, start: StartRun
) -> None:
    fake.replay_writes = True
    run = start()
    fake.replay_writes = False  # the database is back; the worker has not replayed yet
    replayer = threading.Timer(0.5, fake.replay)
    replayer.start()
    run.log_params({"layers": 4})  # 404 until the creation is replayed
    run.finish()
    replayer.join()
    assert fake.runs[run.id].params == {"layers": "4"}
    assert fake.runs[run.id].status == "FINISHED"
