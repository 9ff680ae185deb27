"""Turns what training code hands us (floats, ints, numpy/torch scalars, nested configs)
into the JSON values the API takes, without importing numpy or torch."""

from __future__ import annotations

import contextlib
import math
from collections.abc import Mapping
from typing import Any

# Non-finite floats are not JSON; the API carries them as these strings.
NAN = "NaN"
POS_INF = "Infinity"
NEG_INF = "-Infinity"

MetricValue = float | str


def encode_float(value: float) -> MetricValue:
    if value != value:
        return NAN
    if value == math.inf:
        return POS_INF
    if value == -math.inf:
        return NEG_INF
    return value


def decode_float(value: float | int | str) -> float:
    if isinstance(value, str):
        if value == NAN:
            return math.nan
        if value == POS_INF:
            return math.inf
        if value == NEG_INF:
            return -math.inf
        raise ValueError(f"not a metric value: {value!r}")
    return float(value)


def to_float(value: object) -> float:
    """A Python float from a number or any scalar with `.item()` (numpy, torch, jax).

    Duck typing keeps numpy and torch out of `sys.modules` for code that does not use them.
    """
    if type(value) is float:
        return value
    if isinstance(value, (int, float)):
        return float(value)
    if isinstance(value, (str, bytes)):
        raise TypeError(f"metric values must be numbers, got {type(value).__name__} {value!r}")
    item = getattr(value, "item", None)
    if callable(item):
        try:
            scalar = item()
        except (ValueError, RuntimeError) as exc:
            # numpy arrays and torch tensors with more than one element land here.
            raise TypeError(f"metric values must be scalars, got {type(value).__name__}") from exc
        if isinstance(scalar, (int, float)):
            return float(scalar)
        raise TypeError(f"metric values must be numbers, got {type(scalar).__name__}")
    if hasattr(value, "__float__"):
        return float(value)
    raise TypeError(f"metric values must be numbers, got {type(value).__name__}")


def to_metric_value(value: object) -> MetricValue:
    return encode_float(to_float(value))


def stringify(value: object) -> str:
    if isinstance(value, str):
        return value
    item = getattr(value, "item", None)
    if callable(item) and not isinstance(value, (list, tuple, dict)):
        with contextlib.suppress(ValueError, RuntimeError):
            value = item()
    return str(value)


def flatten_params(config: Mapping[Any, Any], prefix: str = "") -> dict[str, str]:
    """`{"opt": {"lr": 0.1}}` becomes `{"opt.lr": "0.1"}`; params are strings in the API."""
    flat: dict[str, str] = {}
    for key, value in config.items():
        name = f"{prefix}{key}"
        if isinstance(value, Mapping):
            flat.update(flatten_params(value, f"{name}."))
        else:
            flat[name] = stringify(value)
    return flat


def stringify_tags(tags: Mapping[Any, Any]) -> dict[str, str]:
    return {str(key): stringify(value) for key, value in tags.items()}
