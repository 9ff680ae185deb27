"""Turn a validated request batch into per-key point columns, checking every key and value."""

from collections import defaultdict
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from trackboard.server.clock import now_ms
from trackboard.server.errors import InvalidParameter
from trackboard.server.limits import MAX_POINTS_PER_BATCH, check_key
from trackboard.server.metrics.chunk_codec import Points
from trackboard.server.metrics.schemas import MetricBatch
from trackboard.server.metrics.values import parse_value, parse_values

INT64_MIN, INT64_MAX = -(2**63), 2**63 - 1


@dataclass(frozen=True)
class ParsedBatch:
    batch_id: str | None
    series: dict[str, Points]

    @property
    def point_count(self) -> int:
        return sum(len(points) for points in self.series.values())


def _int64_column(numbers: list[int], what: str) -> npt.NDArray[np.int64]:
    try:
        return np.asarray(numbers, dtype=np.int64)
    except OverflowError:
        raise InvalidParameter(f"metric {what} out of the 64-bit integer range") from None


def parse_batch(batch: MetricBatch) -> ParsedBatch:
    now = now_ms()
    parts: dict[str, list[Points]] = defaultdict(list)
    rows: dict[str, tuple[list[int], list[int], list[float]]] = defaultdict(lambda: ([], [], []))
    for point in batch.metrics:
        steps, timestamps, values = rows[point.key]
        steps.append(point.step)
        timestamps.append(point.timestamp if point.timestamp is not None else now)
        values.append(parse_value(point.value))
    for key, (steps, timestamps, values) in rows.items():
        parts[key].append(
            Points(
                _int64_column(steps, "step"),
                _int64_column(timestamps, "timestamp"),
                np.asarray(values, dtype=np.float64),
            )
        )
    for column in batch.columns:
        n = len(column.steps)
        timestamps = column.timestamps if column.timestamps is not None else [now] * n
        if len(column.values) != n or len(timestamps) != n:
            raise InvalidParameter(
                f"metric {column.key!r}: steps, values and timestamps must have the same length"
            )
        parts[column.key].append(
            Points(
                _int64_column(column.steps, "step"),
                _int64_column(timestamps, "timestamp"),
                parse_values(column.values),
            )
        )
    series = {key: Points.concat(chunks) for key, chunks in parts.items()}
    for key in series:
        check_key("metric", key)
    parsed = ParsedBatch(batch.batch_id, series)
    if parsed.point_count > MAX_POINTS_PER_BATCH:
        raise InvalidParameter(
            f"a batch holds at most {MAX_POINTS_PER_BATCH} points, got {parsed.point_count}"
        )
    return parsed
