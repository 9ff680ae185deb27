"""Log entries become columnar batches of bounded size, each with its own id."""

from __future__ import annotations

from trackboard.client.records import MetricBatcher


def _batcher(max_points: int = 10_000) -> tuple[MetricBatcher, list[tuple[str, str]]]:
    invalid: list[tuple[str, str]] = []
    return MetricBatcher(max_points, lambda key, reason: invalid.append((key, reason))), invalid


def test_entries_become_one_column_per_key_with_millisecond_timestamps() -> None:
    batcher, _ = _batcher()
    batcher.add([(0, 1.5, {"a": 1.0, "b": 2}), (1, 2.0, {"a": float("inf")})])
    [record] = batcher.take()
    assert record["kind"] == "metrics"
    assert record["points"] == 3
    assert record["columns"] == [
        {"key": "a", "steps": [0, 1], "values": [1.0, "Infinity"], "timestamps": [1500, 2000]},
        {"key": "b", "steps": [0], "values": [2.0], "timestamps": [1500]},
    ]


def test_batches_are_cut_at_the_point_limit_and_get_distinct_ids() -> None:
    batcher, _ = _batcher(max_points=4)
    batcher.add([(step, 0.0, {"x": step, "y": step, "z": step}) for step in range(3)])
    records = batcher.take()
    assert [r["points"] for r in records] == [4, 4, 1]
    assert len({r["id"] for r in records}) == 3
    xs = [s for r in records for c in r["columns"] if c["key"] == "x" for s in c["steps"]]
    assert xs == [0, 1, 2]


def test_invalid_keys_values_and_steps_are_left_out_and_reported() -> None:
    batcher, invalid = _batcher()
    batcher.add(
        [
            (0, 0.0, {"ok": 1, "": 1, "a..b/../c": 1, "v": "str", 3: 1.0}),
            ("seven", 0.0, {"ok": 2}),  # type: ignore[list-item]
        ]
    )
    [record] = batcher.take()
    assert record["columns"] == [{"key": "ok", "steps": [0], "values": [1.0], "timestamps": [0]}]
    assert {key for key, _ in invalid} == {"", "a..b/../c", "v", "3", "step"}


def test_nothing_logged_makes_no_batch() -> None:
    batcher, _ = _batcher()
    batcher.add([])
    assert batcher.take() == []
