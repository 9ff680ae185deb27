"""The client's artifacts: `log_artifact`, `log_artifacts` and `log_table` queue uploads
that reach the server in the background, once, through outages, retries and sync."""

from __future__ import annotations

import csv
import io
import json
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.client.conftest import StartRun
from tests.client.fake_server import FakeServer
from trackboard.client.artifact_logging import artifact_path
from trackboard.client.artifact_staging import staging_dir
from trackboard.client.settings import ClientSettings
from trackboard.client.spool import find_spools
from trackboard.client.sync import sync_spool
from trackboard.client.transport import Transport


def _file(folder: Path, name: str, content: bytes) -> Path:
    path = folder / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(content)
    return path


def test_logged_files_are_uploaded_under_their_names(
    fake: FakeServer, start: StartRun, tmp_path: Path, settings: ClientSettings
) -> None:
    run = start()
    weights = _file(tmp_path, "model.pt", b"weights")
    assert run.log_artifact(weights) == "model.pt"
    assert run.log_artifact(weights, name="checkpoints/epoch-1.pt") == "checkpoints/epoch-1.pt"
    _file(tmp_path / "out", "a.txt", b"a")
    _file(tmp_path / "out", "sub/b.txt", b"b")
    assert run.log_artifacts(tmp_path / "out", path="results") == [
        "results/a.txt",
        "results/sub/b.txt",
    ]
    run.finish()
    assert fake.runs[run.id].artifacts == {
        "model.pt": b"weights",
        "checkpoints/epoch-1.pt": b"weights",
        "results/a.txt": b"a",
        "results/sub/b.txt": b"b",
    }
    # Every staged copy is gone once uploaded.
    assert not staging_dir(settings.spool_dir, run.id).exists()


def test_the_file_may_change_right_after_it_is_logged(
    fake: FakeServer, start: StartRun, tmp_path: Path
) -> None:
    fake.down = True  # the upload certainly happens after the file changed
    run = start()
    checkpoint = _file(tmp_path, "last.ckpt", b"epoch 1")
    run.log_artifact(checkpoint)
    checkpoint.write_bytes(b"epoch 2, rewritten in place")
    fake.down = False
    run.finish()
    assert fake.runs[run.id].artifacts == {"last.ckpt": b"epoch 1"}


def test_logging_returns_before_any_upload(
    fake: FakeServer, start: StartRun, tmp_path: Path
) -> None:
    run = start()
    original = fake.handle

    def slow(request):  # type: ignore[no-untyped-def]
        if request.method == "PUT":
            time.sleep(0.5)
        return original(request)

    fake.handle = slow  # type: ignore[method-assign]
    began = time.monotonic()
    for index in range(5):
        run.log_artifact(_file(tmp_path, f"{index}.txt", b"x"))
    assert time.monotonic() - began < 0.4
    run.finish()
    assert len(fake.runs[run.id].artifacts) == 5


def test_an_outage_spools_the_upload_and_sends_it_when_the_server_is_back(
    fake: FakeServer, start: StartRun, tmp_path: Path
) -> None:
    run = start()
    fake.down = True
    run.log_artifact(_file(tmp_path, "a.txt", b"during the outage"))
    run.log({"loss": 1.0}, step=0)
    time.sleep(0.3)  # retried meanwhile, and spooled
    assert run.id not in fake.runs or not fake.runs[run.id].artifacts
    fake.down = False
    run.finish()
    assert fake.runs[run.id].artifacts == {"a.txt": b"during the outage"}
    assert fake.series(run.id, "loss") == [(0, 1.0)]


def test_a_retried_upload_is_stored_once(fake: FakeServer, start: StartRun, tmp_path: Path) -> None:
    fake.lose_artifact_answers = 2
    run = start()
    run.log_artifact(_file(tmp_path, "a.txt", b"once"))
    run.finish()
    puts = [path for method, path in fake.requests if method == "PUT"]
    assert len(puts) == 3  # two answers lost, the third acknowledged
    assert fake.runs[run.id].artifacts == {"a.txt": b"once"}


def test_an_offline_run_uploads_its_files_with_sync_once(
    fake: FakeServer, start: StartRun, tmp_path: Path, settings: ClientSettings
) -> None:
    run = start("offline", settings_changes={"mode": "offline"})
    run.log_artifact(_file(tmp_path, "a.txt", b"offline"))
    run.log_table("scores", [{"name": "x", "score": 1.5}])
    run.finish()
    assert fake.requests == []
    transport = Transport(settings.url, http_transport=fake.transport())
    try:
        for _ in range(2):  # a second sync finds nothing left to send
            for spool in find_spools(settings.spool_dir):
                assert sync_spool(spool, transport, retry_for=2.0).outcome == "synced"
    finally:
        transport.close()
    stored = fake.runs[run.id].artifacts
    assert stored["a.txt"] == b"offline"
    assert json.loads(stored["media/tables/scores.json"]) == {
        "columns": ["name", "score"],
        "rows": [["x", 1.5]],
    }
    assert len([m for m, _ in fake.requests if m == "PUT"]) == 3


def test_tables_from_rows_and_dataframes_are_stored_as_json_and_csv(
    fake: FakeServer, start: StartRun
) -> None:
    pandas = pytest.importorskip("pandas")
    run = start()
    frame = pandas.DataFrame({"feature": ["f0", "f1"], "importance": [0.75, float("nan")]})
    run.log_table("xgb/importance", frame)
    run.log_table("rows", [[1, "a"], [2, "b"]], columns=["n", "s"])
    run.finish()
    stored = fake.runs[run.id].artifacts
    assert json.loads(stored["media/tables/xgb/importance.json"]) == {
        "columns": ["feature", "importance"],
        "rows": [["f0", 0.75], ["f1", None]],
    }
    rows = list(csv.reader(io.StringIO(stored["media/tables/rows.csv"].decode())))
    assert rows == [["n", "s"], ["1", "a"], ["2", "b"]]


@pytest.mark.parametrize("name", ["../x", "/etc/passwd", "a\\b", "", "a/../../b", "c:x"])
def test_unsafe_artifact_names_are_refused_at_once(name: str) -> None:
    with pytest.raises(ValueError, match="artifact"):
        artifact_path(name)


def test_a_missing_file_fails_in_the_caller(start: StartRun, tmp_path: Path) -> None:
    run = start()
    with pytest.raises(FileNotFoundError):
        run.log_artifact(tmp_path / "nothing.txt")
    with pytest.raises(FileNotFoundError, match="log_artifacts"):
        run.log_artifact(tmp_path)


def test_logging_media_imports_neither_numpy_nor_pil_until_given_one() -> None:
    code = (
        "import sys, trackboard.client.artifact_logging as a\n"
        "from trackboard.client.media_values import histogram, table\n"
        "histogram([1.0, 2.0, 3.0]); table([{'a': 1}])\n"
        "print(','.join(m for m in ('numpy', 'PIL', 'pandas') if m in sys.modules))\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=60, check=True
    )
    assert result.stdout.strip() == ""
