"""Metric values on the wire: numbers, or "NaN" / "Infinity" / "-Infinity" as MLflow sends."""

import math

import numpy as np
import numpy.typing as npt

from trackboard.server.errors import InvalidParameter

NON_FINITE_WORDS = {"NaN": math.nan, "Infinity": math.inf, "-Infinity": -math.inf}


def parse_value(value: float | int | str) -> float:
    if isinstance(value, str):
        word = NON_FINITE_WORDS.get(value)
        if word is None:
            try:
                return float(value)
            except ValueError:
                raise InvalidParameter(f"metric value {value!r} is not a number") from None
        return word
    if isinstance(value, bool):
        raise InvalidParameter("metric value must be a number, not a boolean")
    return float(value)


def parse_values(values: list[float | int | str]) -> npt.NDArray[np.float64]:
    try:
        return np.asarray(values, dtype=np.float64)
    except (ValueError, TypeError):
        return np.asarray([parse_value(v) for v in values], dtype=np.float64)


def render_value(value: float) -> float | str:
    """One value for JSON: orjson would turn NaN into null, MLflow's clients expect strings."""
    if math.isfinite(value):
        return value
    if math.isnan(value):
        return "NaN"
    return "Infinity" if value > 0 else "-Infinity"


def render_values(values: npt.NDArray[np.float64]) -> list[float | str]:
    rendered: list[float | str] = values.tolist()
    for index in np.flatnonzero(~np.isfinite(values)).tolist():
        rendered[index] = render_value(rendered[index])  # type: ignore[arg-type]
    return rendered
