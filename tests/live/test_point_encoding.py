"""Live points as JSON: the array form written for finite values reads back as the list form."""

import json

import numpy as np
import orjson
from hypothesis import given
from hypothesis import strategies as st

from trackboard.server.live.service import encode_points
from trackboard.server.metrics.points import Points
from trackboard.server.metrics.values import render_value

STEPS = st.integers(min_value=-(2**53), max_value=2**53)
VALUES = st.floats(allow_nan=True, allow_infinity=True)


def as_json(series: dict[str, Points], cap: int) -> object:
    points, truncated = encode_points(series, cap)
    encoded = orjson.dumps(
        {"points": points, "truncated": truncated}, option=orjson.OPT_SERIALIZE_NUMPY
    )
    return json.loads(encoded)


@given(st.lists(st.tuples(STEPS, VALUES, STEPS), min_size=1, max_size=50), st.integers(1, 60))
def test_points_read_back_as_step_value_timestamp_triples(
    triples: list[tuple[int, float, int]], cap: int
) -> None:
    steps, values, timestamps = (list(column) for column in zip(*triples, strict=True))
    series = {
        "loss": Points(
            np.array(steps, dtype=np.int64),
            np.array(timestamps, dtype=np.int64),
            np.array(values, dtype=np.float64),
        )
    }
    answer = as_json(series, cap)
    everything = [[s, render_value(v), t] for s, v, t in triples]
    if len(triples) <= cap:
        assert answer == {"points": {"loss": everything}, "truncated": False}
    else:
        # The latest by step, then timestamp; of equal ones the last logged (a stable sort).
        latest = max(enumerate(triples), key=lambda it: (it[1][0], it[1][2], it[0]))[0]
        assert answer == {"points": {"loss": [everything[latest]]}, "truncated": True}


def test_finite_points_are_written_by_orjson_without_a_python_list_per_point() -> None:
    series = {"acc": Points(np.arange(3), np.arange(3) + 1_700_000_000_000, np.full(3, 0.5))}
    points, _ = encode_points(series, 10)
    assert isinstance(points["acc"], np.ndarray)
    assert as_json(series, 10)["points"] == {  # type: ignore[index]
        "acc": [
            [0, 0.5, 1_700_000_000_000],
            [1, 0.5, 1_700_000_000_001],
            [2, 0.5, 1_700_000_000_002],
        ]
    }
