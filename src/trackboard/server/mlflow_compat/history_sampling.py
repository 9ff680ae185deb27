"""How MLflow's SQL store orders and samples a metric history, for its bulk endpoints.

MLflow keeps a NaN as the value 0 with an `is_nan` flag and an infinity as the largest
finite double, and orders by those stored values; the keys below reproduce that order, so
ties fall as they do on MLflow's server. Trackboard's own charts use the spike-preserving
`metrics.downsample` instead: this sampling is only for MLflow's clients.
"""

import numpy as np
import numpy.typing as npt

from trackboard.server.metrics.points import Points

_LARGEST = np.finfo(np.float64).max


def _stored_values(values: npt.NDArray[np.float64]) -> npt.NDArray[np.float64]:
    """The values as MLflow's SQL store holds them: NaN → 0, ±inf → ± the largest double."""
    return np.nan_to_num(values, nan=0.0, posinf=_LARGEST, neginf=-_LARGEST)


def history_order(points: Points) -> Points:
    """MLflow's order for a history: timestamp, step, stored value, then NaN after a 0."""
    values = points.values
    order = np.lexsort((np.isnan(values), _stored_values(values), points.steps, points.timestamps))
    return points.take(order)


def _step_order(points: Points) -> npt.NDArray[np.intp]:
    """MLflow's sampling order: step, timestamp, stored value, then NaN after a 0."""
    return np.lexsort(
        (np.isnan(points.values), _stored_values(points.values), points.timestamps, points.steps)
    )


def bucket_starts(count: int, buckets: int) -> npt.NDArray[np.intp]:
    """The first row of each of SQL's `NTILE(buckets)` groups over `count` rows.

    NTILE makes the first `count % buckets` groups one row longer than the others, and one
    group per row when there are fewer rows than groups.
    """
    if count <= buckets:
        return np.arange(count, dtype=np.intp)
    size, longer = divmod(count, buckets)
    groups = np.arange(buckets, dtype=np.intp)
    return groups * size + np.minimum(groups, longer)


def sample_history(points: Points, max_results: int) -> Points:
    """At most `max_results` points in step order, as MLflow's `get-history-bulk-interval`.

    The first point of each of `max_results` equal row groups, then the last point: added
    when there is room, else in place of the last sampled one. So the first and the last
    points are always kept, and `max_results=1` gives the last point only. A 10-step series
    sampled to 5 gives steps 0, 2, 4, 6, 9.
    """
    if len(points) == 0:
        return points
    ordered = points.take(_step_order(points))
    rows = bucket_starts(len(ordered), max_results)
    last = len(ordered) - 1
    if rows[-1] != last and not _same_point(ordered, int(rows[-1]), last):
        if len(rows) >= max_results:
            rows[-1] = last
        else:
            rows = np.append(rows, last)
    return ordered.take(rows)


def _same_point(points: Points, a: int, b: int) -> bool:
    """Equal as MLflow compares two rows: step, timestamp, stored value and NaN flag."""
    pair = np.array([a, b])
    steps, timestamps = points.steps[pair], points.timestamps[pair]
    values, nans = _stored_values(points.values[pair]), np.isnan(points.values[pair])
    return bool(
        steps[0] == steps[1]
        and timestamps[0] == timestamps[1]
        and values[0] == values[1]
        and nans[0] == nans[1]
    )
