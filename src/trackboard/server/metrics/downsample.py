"""Shrink a long series for a chart without hiding what matters.

The series is cut into equal buckets of consecutive points; each bucket keeps its first,
last, minimum and maximum point and its first NaN, so spikes, drops and divergence stay
visible at any zoom (the M4 idea, plus NaN). Work is a few vectorised passes.
"""

import numpy as np
import numpy.typing as npt

from trackboard.server.metrics.points import Points

PICKS_PER_BUCKET = 5
OVERVIEW_BUCKET_POINTS = 64


def _first_where(
    mask: npt.NDArray[np.bool_], starts: npt.NDArray[np.intp], n: int
) -> npt.NDArray[np.intp]:
    """Per bucket, the index of the first True in `mask`, or `n` when there is none."""
    candidates = np.where(mask, np.arange(n), n)
    return np.minimum.reduceat(candidates, starts)


def downsample(points: Points, max_points: int) -> Points:
    """At most `max_points` of `points` (in step order), keeping each bucket's extremes."""
    n = len(points)
    if n <= max_points:
        return points
    buckets = max(1, max_points // PICKS_PER_BUCKET)
    starts = np.linspace(0, n, buckets + 1).astype(np.intp)[:-1]
    starts = np.unique(starts)
    sizes = np.diff(np.append(starts, n))
    bucket_of = np.repeat(np.arange(len(starts)), sizes)

    values = points.values
    is_nan = np.isnan(values)
    for_min = np.where(is_nan, np.inf, values)
    for_max = np.where(is_nan, -np.inf, values)
    bucket_min = np.minimum.reduceat(for_min, starts)
    bucket_max = np.maximum.reduceat(for_max, starts)

    picks = np.concatenate(
        (
            starts,
            starts + sizes - 1,
            _first_where(for_min == bucket_min[bucket_of], starts, n),
            _first_where(for_max == bucket_max[bucket_of], starts, n),
            _first_where(is_nan, starts, n),
        )
    )
    keep = np.unique(picks[picks < n])
    return points.take(keep)


def overview(points: Points) -> Points:
    """The extremes of every 64 consecutive points: what a chart of a long series needs.

    Downsampling a series through its chunks' overviews keeps every point an exact
    downsample would keep, up to where bucket edges fall inside a 64-point group.
    """
    groups = -(-len(points) // OVERVIEW_BUCKET_POINTS)
    return downsample(points, PICKS_PER_BUCKET * groups)
