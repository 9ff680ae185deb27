import pytest

from trackboard.server.errors import InvalidParameter
from trackboard.server.search.experiment_filter import parse_experiment_filter
from trackboard.server.search.filter_parser import (
    MAX_FILTER_COMPARISONS,
    MAX_FILTER_LENGTH,
    MAX_ORDER_TERMS,
    parse_filter,
    parse_order,
)


def param_terms(count: int) -> str:
    return " and ".join(f"params.p{i} = 'a'" for i in range(count))


def test_a_filter_of_the_maximum_number_of_comparisons_parses() -> None:
    assert len(parse_filter(param_terms(MAX_FILTER_COMPARISONS))) == MAX_FILTER_COMPARISONS


def test_one_comparison_more_than_the_maximum_is_invalid() -> None:
    with pytest.raises(InvalidParameter, match=f"at most {MAX_FILTER_COMPARISONS} comparisons"):
        parse_filter(param_terms(MAX_FILTER_COMPARISONS + 1))


def test_a_filter_longer_than_the_maximum_is_invalid_before_it_is_scanned() -> None:
    text = "params.p IN (" + ", ".join(["'x'"] * (MAX_FILTER_LENGTH // 5)) + ")"
    assert len(text) > MAX_FILTER_LENGTH
    with pytest.raises(InvalidParameter, match=f"at most {MAX_FILTER_LENGTH} characters"):
        parse_filter(text)


def test_a_long_in_list_within_the_length_bound_parses() -> None:
    ids = [f"'{i:032x}'" for i in range(1000)]
    text = f"attributes.run_id IN ({', '.join(ids)})"
    assert len(text) <= MAX_FILTER_LENGTH
    (comparison,) = parse_filter(text)
    assert isinstance(comparison.value, tuple)
    assert len(comparison.value) == 1000


def test_experiment_filters_share_the_comparison_bound() -> None:
    text = " and ".join(f"tags.t{i} = 'a'" for i in range(MAX_FILTER_COMPARISONS + 1))
    with pytest.raises(InvalidParameter, match="comparisons"):
        parse_experiment_filter(text)


def test_more_order_terms_than_the_maximum_are_invalid() -> None:
    terms = [f"params.p{i}" for i in range(MAX_ORDER_TERMS)]
    assert len(parse_order(terms)) == MAX_ORDER_TERMS
    with pytest.raises(InvalidParameter, match=f"at most {MAX_ORDER_TERMS} terms"):
        parse_order([*terms, "params.extra"])
