"""Offline runs and `trackboard sync`: everything spooled reaches the server once, however
often sync runs, and a sync cut short resumes where it stopped."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest
import typer
from typer.testing import CliRunner

from tests.client.conftest import StartRun
from tests.client.fake_server import FakeServer
from tests.client.ports import unused_port
from trackboard.cli.sync import sync
from trackboard.client.settings import ClientSettings
from trackboard.client.spool import SpoolWriter, find_spools, spool_path
from trackboard.client.sync import sync_spool
from trackboard.client.transport import Transport


def _offline_run(start: StartRun, steps: int, experiment: str = "offline") -> str:
    run = start(experiment, settings_changes={"mode": "offline"}, config={"lr": 0.1})
    for step in range(steps):
        run.log({"loss": step / 10})
    run.set_tags({"where": "plane"})
    run.finish("FINISHED")
    return run.id


def _sync_all(fake: FakeServer, settings: ClientSettings, retry_for: float = 5.0) -> list[str]:
    transport = Transport(settings.url, http_transport=fake.transport())
    try:
        return [
            sync_spool(path, transport, retry_for=retry_for).outcome
            for path in find_spools(settings.spool_dir)
        ]
    finally:
        transport.close()


def test_an_offline_run_touches_no_network_and_syncs_later_exactly_once(
    fake: FakeServer, start: StartRun, settings: ClientSettings
) -> None:
    run_id = _offline_run(start, 500)
    assert fake.requests == []
    assert _sync_all(fake, settings) == ["synced"]
    assert _sync_all(fake, settings) == []
    stored = fake.runs[run_id]
    assert fake.experiments == {1: "offline"}
    assert stored.params == {"lr": "0.1"}
    assert stored.tags == {"where": "plane"}
    assert stored.status == "FINISHED"
    assert fake.series(run_id, "loss") == [(s, s / 10) for s in range(500)]
    assert not spool_path(settings.spool_dir, run_id).exists()


def test_a_sync_cut_short_resumes_without_doubling(
    fake: FakeServer, start: StartRun, settings: ClientSettings
) -> None:
    run_id = _offline_run(start, 20_000)
    # Let the creation and the first batch through, then fail long enough to give up.
    original = fake.handle
    answered = 0

    def flaky(request):  # type: ignore[no-untyped-def]
        nonlocal answered
        answered += 1
        if answered > 3:
            fake.down = True
        return original(request)

    fake.handle = flaky  # type: ignore[method-assign]
    assert _sync_all(fake, settings, retry_for=0.3) == ["failed"]
    assert 0 < len(fake.series(run_id, "loss")) < 20_000
    fake.handle = original  # type: ignore[method-assign]
    fake.down = False
    assert _sync_all(fake, settings) == ["synced"]
    assert fake.series(run_id, "loss") == [(s, s / 10) for s in range(20_000)]
    assert fake.runs[run_id].status == "FINISHED"


def test_sync_replayed_from_the_start_stores_nothing_twice(
    fake: FakeServer, start: StartRun, settings: ClientSettings
) -> None:
    run_id = _offline_run(start, 300)
    spool = spool_path(settings.spool_dir, run_id)
    saved = spool.read_bytes()
    assert _sync_all(fake, settings) == ["synced"]
    # As if the state file had been lost: the whole spool is sent again.
    spool.write_bytes(saved)
    assert _sync_all(fake, settings) == ["synced"]
    assert fake.series(run_id, "loss") == [(s, s / 10) for s in range(300)]
    assert len(fake.runs) == 1


def test_sync_leaves_alone_a_spool_its_run_still_writes(
    fake: FakeServer, settings: ClientSettings
) -> None:
    path = spool_path(settings.spool_dir, "a" * 32)
    writer = SpoolWriter(path, {"kind": "run", "id": "h", "run_id": "a" * 32})
    try:
        assert _sync_all(fake, settings) == ["busy"]
    finally:
        writer.close()
    assert path.exists()


def test_a_line_cut_short_by_a_crash_is_ignored(
    fake: FakeServer, start: StartRun, settings: ClientSettings
) -> None:
    run_id = _offline_run(start, 10)
    spool = spool_path(settings.spool_dir, run_id)
    with spool.open("ab") as handle:
        handle.write(b'{"kind":"metrics","id":"x","columns":[{"key":"lo')
    assert _sync_all(fake, settings) == ["synced"]
    assert fake.series(run_id, "loss") == [(s, s / 10) for s in range(10)]


def test_sync_command_fails_and_keeps_the_spool_when_the_server_stays_away(
    start: StartRun, settings: ClientSettings, monkeypatch: pytest.MonkeyPatch
) -> None:
    _offline_run(start, 5)
    monkeypatch.setenv("TRACKBOARD_URL", f"http://127.0.0.1:{unused_port()}")
    app = typer.Typer()
    app.command()(sync)
    result = CliRunner().invoke(app, [str(settings.spool_dir), "--retry-for", "0.2"])
    assert result.exit_code == 1
    assert "failed" in result.output
    assert "run sync again" in result.output
    assert len(find_spools(settings.spool_dir)) == 1


def test_sync_command_with_nothing_spooled_says_so(
    settings: ClientSettings, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("TRACKBOARD_HOME", str(settings.home))
    app = typer.Typer()
    app.command()(sync)
    result = CliRunner().invoke(app, [])
    assert result.exit_code == 0
    assert "Nothing to sync" in result.output


def test_offline_mode_comes_from_the_environment(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv("TRACKBOARD_MODE", "offline")
    monkeypatch.setenv("TRACKBOARD_HOME", str(tmp_path))
    monkeypatch.setenv("TRACKBOARD_URL", "http://example.test:9/")
    monkeypatch.setenv("TRACKBOARD_API_KEY", "k")
    settings = ClientSettings.from_env()
    assert dataclasses.astuple(settings)[:4] == ("http://example.test:9", "k", "offline", tmp_path)
