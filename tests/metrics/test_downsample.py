import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from trackboard.server.metrics.downsample import downsample, overview
from trackboard.server.metrics.points import Points

values_strategy = arrays(
    np.float64,
    st.integers(1, 3000),
    elements=st.one_of(
        st.floats(allow_nan=True, allow_infinity=True, width=64),
        st.floats(-1e6, 1e6),
    ),
)


def series(values: np.ndarray) -> Points:  # type: ignore[type-arg]
    n = len(values)
    return Points(np.arange(n, dtype=np.int64) * 3, np.arange(n, dtype=np.int64), values)


@settings(max_examples=300, deadline=None)
@given(values=values_strategy, max_points=st.integers(10, 500))
def test_downsampling_bounds_size_keeps_order_and_extremes(
    values: np.ndarray, max_points: int
) -> None:  # type: ignore[type-arg]
    points = series(values)
    result = downsample(points, max_points)
    assert len(result) <= max(max_points, 0) or len(points) <= max_points
    assert len(result) <= max_points
    assert np.all(np.diff(result.steps) > 0)
    # Every kept point is a real point of the input.
    index = result.steps // 3
    assert np.array_equal(result.values, values[index], equal_nan=True)
    assert result.steps[0] == points.steps[0]
    assert result.steps[-1] == points.steps[-1]
    finite = values[~np.isnan(values)]
    kept = result.values[~np.isnan(result.values)]
    if len(finite):
        assert kept.max() == finite.max()
        assert kept.min() == finite.min()
    if np.isnan(values).any():
        assert np.isnan(result.values).any()


@given(values=values_strategy)
def test_short_series_are_returned_whole(values: np.ndarray) -> None:  # type: ignore[type-arg]
    points = series(values)
    result = downsample(points, len(values) + 10)
    assert np.array_equal(result.values, values, equal_nan=True)


def test_a_spike_in_a_million_points_survives() -> None:
    values = np.sin(np.arange(1_000_000) / 1000.0)
    values[654_321] = 1e9
    result = downsample(series(values), 2000)
    assert len(result) <= 2000
    assert 1e9 in result.values


@settings(max_examples=100, deadline=None)
@given(values=values_strategy, max_points=st.integers(10, 200))
def test_downsampling_overviews_keeps_global_extremes_and_nan(
    values: np.ndarray,  # type: ignore[type-arg]
    max_points: int,
) -> None:
    points = series(values)
    chunks = [points.take(slice(i, i + 1000)) for i in range(0, len(points), 1000)]
    result = downsample(Points.concat([overview(chunk) for chunk in chunks]), max_points)
    assert len(result) <= max_points
    assert np.all(np.diff(result.steps) > 0)
    finite = values[~np.isnan(values)]
    kept = result.values[~np.isnan(result.values)]
    if len(finite):
        assert kept.max() == finite.max()
        assert kept.min() == finite.min()
    assert np.isnan(values).any() == np.isnan(result.values).any()
