import numpy as np
from hypothesis import given
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from trackboard.server.metrics.chunk_codec import decode_chunk, encode_chunk
from trackboard.server.metrics.points import Points

int64s = st.integers(-(2**62), 2**62)


@given(
    st.integers(0, 500).flatmap(
        lambda n: st.tuples(
            arrays(np.int64, n, elements=int64s),
            arrays(np.int64, n, elements=int64s),
            arrays(np.float64, n, elements=st.floats(allow_nan=True, allow_infinity=True)),
        )
    )
)
def test_chunks_round_trip_any_points(columns: tuple[np.ndarray, np.ndarray, np.ndarray]) -> None:  # type: ignore[type-arg]
    steps, timestamps, values = columns
    decoded = decode_chunk(encode_chunk(Points(steps, timestamps, values)))
    assert np.array_equal(decoded.steps, steps)
    assert np.array_equal(decoded.timestamps, timestamps)
    assert np.array_equal(decoded.values.view(np.int64), values.view(np.int64))


def test_regular_series_pack_to_about_eight_bytes_a_point() -> None:
    n = 4096
    points = Points(
        np.arange(n, dtype=np.int64),
        1_700_000_000_000 + np.arange(n, dtype=np.int64) * 250,
        np.random.default_rng(0).random(n),
    )
    assert len(encode_chunk(points)) / n < 8.5


def test_sorting_by_step_breaks_ties_by_timestamp() -> None:
    points = Points(np.array([2, 1, 1]), np.array([0, 9, 3]), np.array([1.0, 2.0, 3.0]))
    ordered = points.sorted_by_step()
    assert ordered.values.tolist() == [3.0, 2.0, 1.0]
