"""Acceptance against a real `trackboard server` subprocess: every point arrives exactly once
(checked through GET /api/v1/runs/{id}/metrics/{key}) when the server restarts mid-run,
answers 503/429 for a while, loses answers, or is only reached later by `trackboard sync`."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import textwrap
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

import trackboard
from tests.client.live_server import FaultProxy, LiveServer
from tests.client.ports import unused_port


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    live = LiveServer(tmp_path_factory.mktemp("server-home"))
    live.start()
    yield live
    live.stop()


@pytest.fixture
def client_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    home = tmp_path / "client-home"
    monkeypatch.setenv("TRACKBOARD_HOME", str(home))
    monkeypatch.setenv("TRACKBOARD_FLUSH_INTERVAL", "0.2")
    monkeypatch.setenv("TRACKBOARD_RETRY_MAX_DELAY", "0.5")
    monkeypatch.setenv("TRACKBOARD_FINISH_TIMEOUT", "30")
    monkeypatch.delenv("TRACKBOARD_MODE", raising=False)
    monkeypatch.delenv("TRACKBOARD_API_KEY", raising=False)
    return home


def _log(run: trackboard.Run, steps: range, pause: float = 0.0) -> None:
    for step in steps:
        run.log({"loss": 1.0 / (step + 1), "acc": step / 1000, "step_sq": step * step})
        if pause:
            time.sleep(pause)


def _assert_exactly_once(
    url: str, run_id: str, n: int, settle: float = 30.0, api_key: str | None = None
) -> None:
    # Metrics may become visible a little after they were acknowledged (the server may queue
    # them), so wait until all arrived; more than n at any time is a failure at once.
    with trackboard.Api(url, api_key=api_key) as api:
        deadline = time.monotonic() + settle
        while True:
            loss = api.history(run_id, "loss")
            assert len(loss) <= n, f"{len(loss)} points stored for {n} logged"
            if len(loss) == n or time.monotonic() > deadline:
                break
            time.sleep(0.2)
        acc = api.history(run_id, "acc")
        squares = api.history(run_id, "step_sq")
        run = api.run(run_id)
    assert loss.steps == list(range(n))
    assert loss.values == [1.0 / (s + 1) for s in range(n)]
    assert acc.values == [s / 1000 for s in range(n)]
    assert squares.values == [float(s * s) for s in range(n)]
    assert run.metrics["loss"].count == n


def _spools(home: Path) -> list[Path]:
    return sorted((home / "spool").glob("*.jsonl"))


def _wait_for(predicate: object, timeout: float) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():  # type: ignore[operator]
            return True
        time.sleep(0.02)
    return False


def test_points_logged_across_a_server_restart_arrive_exactly_once(
    server: LiveServer, client_home: Path
) -> None:
    run = trackboard.init(experiment="restart", config={"lr": 0.1}, url=server.url)
    _log(run, range(300), pause=0.001)
    server.stop()
    try:
        _log(run, range(300, 600), pause=0.003)
        assert _wait_for(lambda: _spools(client_home), 5), "the outage must spool to disk"
    finally:
        server.start()
    _log(run, range(600, 900), pause=0.001)
    run.finish()
    _assert_exactly_once(server.url, run.id, 900)
    with trackboard.Api(server.url) as api:
        stored = api.run(run.id)
    assert stored.status == "FINISHED"
    assert stored.params == {"lr": "0.1"}
    assert _spools(client_home) == []


def test_503_429_and_lost_answers_from_the_server_neither_lose_nor_double_points(
    server: LiveServer, client_home: Path
) -> None:
    proxy = FaultProxy(server.url)
    try:
        run = trackboard.init(experiment="throttled", url=proxy.url)
        _log(run, range(200))
        proxy.mode, proxy.retry_after = "503", "1"
        began = time.monotonic()
        _log(run, range(200, 400), pause=0.01)
        refused_503 = proxy.faulted
        seconds_503 = time.monotonic() - began
        proxy.mode, proxy.retry_after = "429", None
        _log(run, range(400, 600), pause=0.005)
        before_losing = proxy.faulted
        proxy.mode = "lose"
        _log(run, range(600, 800), pause=0.005)
        assert _wait_for(lambda: proxy.faulted > before_losing, 10)
        proxy.mode = "pass"
        _log(run, range(800, 1000))
        run.finish()
        _assert_exactly_once(server.url, run.id, 1000)
        assert refused_503 >= 1
        # Retry-After: 1 was honoured: about one attempt a second while it was answered.
        assert refused_503 <= seconds_503 + 2
    finally:
        proxy.close()


def _sync_command(client_home: Path, url: str) -> subprocess.CompletedProcess[str]:
    # What the lead registers as `trackboard sync [PATH]`.
    code = "import typer; from trackboard.cli.sync import sync; typer.run(sync)"
    env = {**os.environ, "TRACKBOARD_HOME": str(client_home), "TRACKBOARD_URL": url}
    return subprocess.run(
        [sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=120
    )


def test_an_offline_run_synced_twice_arrives_exactly_once(
    server: LiveServer, client_home: Path, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv("TRACKBOARD_MODE", "offline")
    run = trackboard.init(experiment="offline-sync", config={"model": {"depth": 3}}, url=server.url)
    _log(run, range(25_000))
    run.set_tags({"site": "plane"})
    run.finish("FINISHED")
    [spool] = _spools(client_home)
    saved = tmp_path / "saved.jsonl"
    shutil.copy(spool, saved)

    first = _sync_command(client_home, server.url)
    assert first.returncode == 0, first.stderr
    assert "synced" in first.stderr
    second = _sync_command(client_home, server.url)
    assert second.returncode == 0, second.stderr
    assert "Nothing to sync" in second.stderr
    # Even a spool replayed from its first byte (its state lost) doubles nothing.
    shutil.copy(saved, spool)
    third = _sync_command(client_home, server.url)
    assert third.returncode == 0, third.stderr

    _assert_exactly_once(server.url, run.id, 25_000)
    with trackboard.Api(server.url) as api:
        stored = api.run(run.id)
        assert [r.id for r in api.runs("offline-sync")] == [run.id]
    assert stored.status == "FINISHED"
    assert stored.params == {"model.depth": "3"}
    assert stored.tags["site"] == "plane"
    assert _spools(client_home) == []


def test_a_run_started_while_the_server_is_unreachable_is_sent_once_it_is_up(
    server: LiveServer, client_home: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("TRACKBOARD_INIT_TIMEOUT", "0.5")
    server.stop()
    try:
        run = trackboard.init(experiment="late", url=server.url)
        _log(run, range(200))
    finally:
        server.start()
    _log(run, range(200, 400))
    run.finish()
    _assert_exactly_once(server.url, run.id, 400)
    with trackboard.Api(server.url) as api:
        assert api.run(run.id).status == "FINISHED"


def _run_script(body: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-c", textwrap.dedent(body)],
        env={**os.environ, **env},
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_exit_without_finish_finishes_the_run_an_uncaught_error_fails_it_ctrl_c_kills_it(
    server: LiveServer, client_home: Path
) -> None:
    script = """
        import sys, trackboard
        run = trackboard.init(experiment="atexit", url=sys.argv[1] if len(sys.argv) > 1 else None)
        print(run.id, flush=True)
        for step in range(5000):
            run.log({"loss": 1.0 / (step + 1), "acc": step / 1000, "step_sq": step * step})
        if "{end}" == "error":
            raise RuntimeError("training blew up")
        if "{end}" == "interrupt":
            raise KeyboardInterrupt
    """
    env = {"TRACKBOARD_URL": server.url}
    clean = _run_script(script.replace("{end}", "clean"), env)
    assert clean.returncode == 0, clean.stderr
    failing = _run_script(script.replace("{end}", "error"), env)
    assert failing.returncode == 1
    assert "training blew up" in failing.stderr
    interrupted = _run_script(script.replace("{end}", "interrupt"), env)
    assert interrupted.returncode != 0
    ids = [p.stdout.strip() for p in (clean, failing, interrupted)]
    for run_id in ids:
        _assert_exactly_once(server.url, run_id, 5000)
    with trackboard.Api(server.url) as api:
        assert [api.run(run_id).status for run_id in ids] == ["FINISHED", "FAILED", "KILLED"]


def test_a_crash_loses_at_most_the_last_flush_interval_even_while_the_server_is_away(
    server: LiveServer, client_home: Path
) -> None:
    # Logged, then twice the flush interval waited, then killed without any goodbye.
    script = """
        import os, sys, time, trackboard
        run = trackboard.init(experiment="crash", url=sys.argv[1] if len(sys.argv) > 1 else None)
        print(run.id, flush=True)
        for step in range(3000):
            run.log({"loss": 1.0 / (step + 1), "acc": step / 1000, "step_sq": step * step})
        time.sleep(0.6)
        os._exit(9)
    """
    online = _run_script(script, {"TRACKBOARD_URL": server.url})
    assert online.returncode == 9, online.stderr
    _assert_exactly_once(server.url, online.stdout.strip(), 3000)

    unreachable = f"http://127.0.0.1:{unused_port()}"
    offline = _run_script(script, {"TRACKBOARD_URL": unreachable, "TRACKBOARD_INIT_TIMEOUT": "0.3"})
    assert offline.returncode == 9, offline.stderr
    synced = _sync_command(client_home, server.url)
    assert synced.returncode == 0, synced.stderr
    run_id = offline.stdout.strip()
    _assert_exactly_once(server.url, run_id, 3000)
    with trackboard.Api(server.url) as api:
        # Nobody said how it ended: it stays RUNNING, as MLflow leaves a crashed run.
        assert api.run(run_id).status == "RUNNING"


def test_the_readme_example_works_as_written(server: LiveServer, client_home: Path) -> None:
    text = (Path(__file__).resolve().parents[2] / "docs" / "client.md").read_text()
    example = text.split("```python\n", 1)[1].split("```", 1)[0]
    assert len(example.strip().splitlines()) <= 12
    result = _run_script(example, {"TRACKBOARD_URL": server.url})
    assert result.returncode == 0, result.stderr
    assert "100 points, last loss" in result.stdout
    assert f"dashboard: {server.url}/runs/" in result.stdout


def test_with_authentication_on_the_api_key_is_used_and_a_wrong_one_refused_at_init(
    tmp_path: Path, client_home: Path
) -> None:
    home = tmp_path / "auth-server"
    env = {**os.environ, "TRACKBOARD_HOME": str(home), "TRACKBOARD_AUTH": "on"}
    created = subprocess.run(
        [str(Path(sys.executable).with_name("trackboard")), "keys", "create", "--project", "p"],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert created.returncode == 0, created.stderr
    key = created.stdout.strip().splitlines()[-1]
    live = LiveServer(home, extra_env={"TRACKBOARD_AUTH": "on"})
    live.start()
    try:
        with pytest.raises(trackboard.RequestRejectedError) as refused:
            trackboard.init(experiment="secured", url=live.url, api_key="tbk_wrong")
        assert refused.value.status == 401
        with trackboard.init(experiment="secured", url=live.url, api_key=key) as run:
            _log(run, range(100))
        _assert_exactly_once(live.url, run.id, 100, api_key=key)
    finally:
        live.stop()
