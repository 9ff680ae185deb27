"""The spool: fsynced appends, an acknowledged offset that survives, and a lock."""

from __future__ import annotations

from pathlib import Path

import pytest

from trackboard.client.spool import (
    SpoolBusyError,
    SpoolReader,
    SpoolWriter,
    find_spools,
    spool_path,
    state_path,
)


def test_records_are_read_back_in_order_from_the_acknowledged_offset(tmp_path: Path) -> None:
    path = spool_path(tmp_path, "r1")
    writer = SpoolWriter(path, {"kind": "run", "id": "h", "run_id": "r1"})
    writer.append([{"kind": "metrics", "id": str(i)} for i in range(3)])
    writer.close()
    reader = SpoolReader(path)
    header, end = reader.peek()  # type: ignore[misc]
    assert header["kind"] == "run"
    reader.ack(end, run_id="r1")
    first, end = reader.peek()  # type: ignore[misc]
    assert first["id"] == "0"
    reader.ack(end)
    reader.close()

    again = SpoolReader(path)
    assert again.run_id == "r1"
    ids = []
    while (following := again.peek()) is not None:
        ids.append(following[0]["id"])
        again.ack(following[1])
    assert ids == ["1", "2"]
    again.remove()
    assert not path.exists()
    assert not state_path(path).exists()


def test_a_second_writer_or_a_locking_reader_is_refused_while_one_writes(tmp_path: Path) -> None:
    path = spool_path(tmp_path, "r2")
    writer = SpoolWriter(path)
    with pytest.raises(SpoolBusyError):
        SpoolWriter(path)
    with pytest.raises(SpoolBusyError):
        SpoolReader(path, lock=True)
    SpoolReader(path).close()  # the run's own reader does not lock
    writer.close()
    SpoolReader(path, lock=True).close()


def test_corrupt_lines_are_skipped_and_a_torn_state_file_means_start_over(tmp_path: Path) -> None:
    path = spool_path(tmp_path, "r3")
    path.write_bytes(b'{"kind":"a","id":"1"}\nnot json\n[1]\n{"kind":"b","id":"2"}\n')
    state_path(path).write_text("{torn")
    reader = SpoolReader(path)
    kinds = []
    while (following := reader.peek()) is not None:
        kinds.append(following[0]["kind"])
        reader.ack(following[1])
    assert kinds == ["a", "b"]
    reader.close()


def test_find_spools_takes_a_file_or_a_folder(tmp_path: Path) -> None:
    assert find_spools(tmp_path / "missing") == []
    first = spool_path(tmp_path, "one")
    first.write_bytes(b"")
    spool_path(tmp_path, "two").write_bytes(b"")
    state_path(first).write_text("{}")
    assert {p.name for p in find_spools(tmp_path)} == {"one.jsonl", "two.jsonl"}
    assert find_spools(first) == [first]
