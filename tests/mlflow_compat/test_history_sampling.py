"""MLflow's history order and sampling, checked against what MLflow 3.17.2's server answered."""

import numpy as np

from trackboard.server.metrics.points import Points
from trackboard.server.mlflow_compat.history_sampling import (
    bucket_starts,
    history_order,
    sample_history,
)

INF, NAN = float("inf"), float("nan")


def points(steps: list[int], timestamps: list[int], values: list[float]) -> Points:
    return Points(
        np.array(steps, dtype=np.int64),
        np.array(timestamps, dtype=np.int64),
        np.array(values, dtype=np.float64),
    )


def flat(count: int) -> Points:
    return points(
        list(range(count)), [100 + s for s in range(count)], [float(s) for s in range(count)]
    )


# Every 7th step repeats, at decreasing timestamps: the order is by step, then timestamp.
CYCLIC = points(
    [s % 7 for s in range(23)], [1000 - s for s in range(23)], [float(s) for s in range(23)]
)
# One step, one timestamp: the order is by value as MLflow stores it (NaN as 0, inf as max).
TIED = points([0] * 5, [5] * 5, [3.0, NAN, 1.0, 0.0, INF])


def step_times(sampled: Points) -> list[tuple[int, int]]:
    return list(zip(sampled.steps.tolist(), sampled.timestamps.tolist(), strict=True))


def test_a_flat_ten_step_series_sampled_to_five_keeps_the_first_and_last_steps() -> None:
    assert sample_history(flat(10), 5).steps.tolist() == [0, 2, 4, 6, 9]


def test_one_result_is_the_last_point() -> None:
    assert sample_history(flat(10), 1).steps.tolist() == [9]
    assert step_times(sample_history(CYCLIC, 1)) == [(6, 994)]


def test_fewer_points_than_asked_are_all_returned_in_step_order() -> None:
    assert step_times(sample_history(CYCLIC, 30))[:5] == [
        (0, 979),
        (0, 986),
        (0, 993),
        (0, 1000),
        (1, 978),
    ]
    assert len(sample_history(CYCLIC, 30)) == 23


def test_repeated_steps_are_sampled_by_row_as_mlflow_does() -> None:
    assert step_times(sample_history(CYCLIC, 5)) == [
        (0, 979),
        (1, 985),
        (2, 998),
        (4, 989),
        (6, 994),
    ]
    assert step_times(sample_history(CYCLIC, 3)) == [(0, 979), (2, 984), (6, 994)]
    assert step_times(sample_history(CYCLIC, 2)) == [(0, 979), (6, 994)]


def test_ties_are_ordered_by_stored_value_with_nan_after_zero() -> None:
    every = sample_history(TIED, 5).values.tolist()
    assert str(every) == "[0.0, nan, 1.0, 3.0, inf]"
    assert sample_history(TIED, 3).values.tolist() == [0.0, 1.0, INF]
    assert sample_history(TIED, 2).values.tolist() == [0.0, INF]


def test_an_empty_series_samples_to_nothing() -> None:
    assert len(sample_history(flat(0), 5)) == 0


def test_buckets_are_those_of_sql_ntile() -> None:
    # NTILE(4) over 10 rows: groups of 3, 3, 2, 2.
    assert bucket_starts(10, 4).tolist() == [0, 3, 6, 8]
    assert bucket_starts(3, 5).tolist() == [0, 1, 2]


def test_a_history_is_ordered_by_timestamp_then_step_then_value() -> None:
    ordered = history_order(CYCLIC)
    assert ordered.timestamps.tolist() == sorted(CYCLIC.timestamps.tolist())
    assert str(history_order(TIED).values.tolist()) == "[0.0, nan, 1.0, 3.0, inf]"
