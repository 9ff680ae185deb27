"""Series of several runs put on one x grid and reduced to a mean line with its min-max and
±1 std bands: the maths of a grouped compare chart, in numpy, free of the database.

It follows the dashboard's own (features/analysis/grouping.ts), which it replaces for
large comparisons: each series is linearly interpolated at the grid's x values inside its
own range and left out beyond it; a gap (a non-finite value) is never bridged.
"""

from dataclasses import dataclass
from typing import Literal

import numpy as np
import numpy.typing as npt

from trackboard.server.metrics.points import Points

Float64Array = npt.NDArray[np.float64]
XAxis = Literal["step", "time", "relative"]


@dataclass(frozen=True)
class XY:
    """One run's series as the chart places it: x ascending, NaN where it has a gap."""

    x: Float64Array
    y: Float64Array
    # The step of each point, so that a grid x can be told as a step (zoom).
    steps: Float64Array


@dataclass(frozen=True)
class Band:
    """Per grid x: members with a value there, their mean, min, max and population std
    (NaN where no member has one)."""

    x: Float64Array
    count: npt.NDArray[np.int64]
    mean: Float64Array
    low: Float64Array
    high: Float64Array
    std: Float64Array
    steps: Float64Array


def x_values(points: Points, axis: XAxis, start_time_ms: int) -> Float64Array:
    """x in the axis' unit: the step, or seconds (uPlot's unit) since the epoch or the start."""
    if axis == "step":
        return points.steps.astype(np.float64)
    origin = 0 if axis == "time" else start_time_ms
    return (points.timestamps - origin).astype(np.float64) / 1000.0


def ema_smooth(y: Float64Array, weight: float) -> Float64Array:
    """TensorBoard's debiased exponential moving average (as the dashboard's emaSmooth):
    gaps stay gaps and the average carries across them."""
    if weight <= 0:
        return y
    w = min(weight, 0.999)
    out = np.full(len(y), np.nan)
    acc = 0.0
    n = 0
    # A recurrence: ~1 µs a point, a millisecond for a 1,000-point series.
    for i, v in enumerate(y.tolist()):
        if v != v:  # NaN: a gap
            continue
        acc = acc * w + (1 - w) * v
        n += 1
        out[i] = acc / (1 - w**n)
    return out


def shape(
    points: Points, axis: XAxis, start_time_ms: int, smoothing: float = 0.0, log: bool = False
) -> XY:
    """A run's points as drawn: x-sorted, non-finite values as gaps, smoothed, and on a log
    axis without the values ≤ 0 it cannot show."""
    x = x_values(points, axis, start_time_ms)
    order = np.argsort(x, kind="stable")
    x = x[order]
    values = points.values[order]
    y = np.where(np.isfinite(values), values, np.nan)
    y = ema_smooth(y, smoothing)
    if log:
        y = np.where(y > 0, y, np.nan)
    return XY(x, y, points.steps[order].astype(np.float64))


def common_grid(series: list[XY], max_points: int) -> Float64Array:
    """Every x of the series when they have at most `max_points` distinct ones, else
    `max_points` evenly spaced x values from the first to the last."""
    if not series:
        return np.empty(0)
    union = np.unique(np.concatenate([s.x for s in series]))
    if len(union) <= max_points:
        return union
    return np.linspace(union[0], union[-1], max_points)


def interpolate_at(x: Float64Array, y: Float64Array, grid: Float64Array) -> Float64Array:
    """y at each grid x: linear between neighbours, NaN outside [x0, xn] and next to a gap;
    an x the series has exactly takes its own value."""
    if len(x) == 0:
        return np.full(len(grid), np.nan)
    out = np.interp(grid, x, y, left=np.nan, right=np.nan)
    # np.interp gives NaN at a point whose neighbour is a gap; its own value is known.
    at = np.minimum(np.searchsorted(x, grid, side="right") - 1, len(x) - 1)
    exact = (at >= 0) & (x[np.maximum(at, 0)] == grid)
    out[exact] = y[at[exact]]
    return out


def band_of(series: list[XY], grid: Float64Array) -> Band:
    """The members' mean, min, max and std at every grid x."""
    matrix = np.array([interpolate_at(s.x, s.y, grid) for s in series]).reshape(
        len(series), len(grid)
    )
    steps = np.array([interpolate_at(s.x, s.steps, grid) for s in series]).reshape(matrix.shape)
    present = ~np.isnan(matrix)
    count = present.sum(axis=0)
    some = count > 0
    # Explicit sums rather than np.nanmean & co., which warn on an all-NaN column.
    divisor = np.where(some, count, 1)
    mean = np.where(present, matrix, 0.0).sum(axis=0) / divisor
    deviation = np.where(present, matrix - mean, 0.0)
    std = np.sqrt((deviation**2).sum(axis=0) / divisor)
    low = np.where(present, matrix, np.inf).min(axis=0, initial=np.inf)
    high = np.where(present, matrix, -np.inf).max(axis=0, initial=-np.inf)
    has_step = ~np.isnan(steps)
    step_count = np.where(has_step.any(axis=0), has_step.sum(axis=0), 1)
    mean_step = np.where(has_step, steps, 0.0).sum(axis=0) / step_count

    def hide(a: Float64Array) -> Float64Array:
        return np.where(some, a, np.nan)

    return Band(
        grid,
        count.astype(np.int64),
        hide(mean),
        hide(low),
        hide(high),
        hide(std),
        np.where(has_step.any(axis=0), mean_step, np.nan),
    )
