"""Value coercion: numbers and scalar-likes become JSON values, non-finite ones strings."""

from __future__ import annotations

import math
from decimal import Decimal

import pytest

from trackboard.client.values import (
    decode_float,
    flatten_params,
    stringify,
    stringify_tags,
    to_metric_value,
)


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (0.5, 0.5),
        (3, 3.0),
        (True, 1.0),
        (Decimal("0.25"), 0.25),
        (math.nan, "NaN"),
        (math.inf, "Infinity"),
        (-math.inf, "-Infinity"),
    ],
)
def test_numbers_become_floats_or_the_api_strings(value: object, expected: object) -> None:
    assert to_metric_value(value) == expected


def test_numpy_scalars_are_converted_through_item() -> None:
    np = pytest.importorskip("numpy")
    assert to_metric_value(np.float16(0.5)) == 0.5
    assert to_metric_value(np.float64("nan")) == "NaN"
    assert to_metric_value(np.array(2.0)) == 2.0


def test_a_multi_element_array_is_refused() -> None:
    np = pytest.importorskip("numpy")
    with pytest.raises(TypeError, match="scalars"):
        to_metric_value(np.array([1.0, 2.0]))


@pytest.mark.parametrize("value", ["0.5", b"1", None, [1.0], object()])
def test_non_numbers_are_refused(value: object) -> None:
    with pytest.raises(TypeError):
        to_metric_value(value)


def test_an_item_returning_a_non_number_is_refused() -> None:
    class Odd:
        def item(self) -> str:
            return "x"

    with pytest.raises(TypeError, match="numbers"):
        to_metric_value(Odd())


def test_decode_float_reverses_the_api_strings() -> None:
    assert math.isnan(decode_float("NaN"))
    assert decode_float("Infinity") == math.inf
    assert decode_float("-Infinity") == -math.inf
    assert decode_float(2) == 2.0
    with pytest.raises(ValueError, match="not a metric value"):
        decode_float("nope")


def test_nested_config_is_flattened_with_dots_and_stringified() -> None:
    config = {
        "model": {"layers": 4, "act": "relu", "opt": {"lr": 1e-3}},
        "seed": None,
        "aug": [1, 2],
    }
    assert flatten_params(config) == {
        "model.layers": "4",
        "model.act": "relu",
        "model.opt.lr": "0.001",
        "seed": "None",
        "aug": "[1, 2]",
    }


def test_numpy_params_and_tags_are_stringified_as_python_values() -> None:
    np = pytest.importorskip("numpy")
    assert stringify(np.float64(0.5)) == "0.5"
    assert stringify_tags({"n": np.int32(3), 1: "x"}) == {"n": "3", "1": "x"}
