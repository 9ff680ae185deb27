import pytest
from hypothesis import given
from hypothesis import strategies as st

from trackboard.server.errors import InvalidParameter
from trackboard.server.search.filter_parser import (
    Comparison,
    Identifier,
    parse_filter,
    parse_order_by,
)

keys = st.text(st.sampled_from("abcXYZ09_-. /:"), min_size=1, max_size=20).filter(
    lambda k: "`" not in k
)
strings = st.text(st.characters(blacklist_categories=["Cs"]), max_size=20)
numbers = st.floats(allow_nan=False, allow_infinity=False, width=64)


def quote(value: str) -> str:
    return "'" + value.replace("'", "''") + "'"


@st.composite
def comparisons(draw: st.DrawFn) -> tuple[str, Comparison]:
    kind = draw(st.sampled_from(["metric", "param", "tag"]))
    key = draw(keys)
    prefix = {"metric": "metrics", "param": "params", "tag": "tags"}[kind]
    identifier = f"{prefix}.`{key}`"
    if kind == "metric":
        op = draw(st.sampled_from(["=", "!=", ">", ">=", "<", "<="]))
        number = draw(numbers)
        return f"{identifier} {op} {number!r}", Comparison(Identifier(kind, key), op, number)
    op = draw(st.sampled_from(["=", "!=", "LIKE", "ILIKE", "IN", "NOT IN"]))
    if op in ("IN", "NOT IN"):
        items = tuple(draw(st.lists(strings, min_size=1, max_size=4)))
        text = f"{identifier} {op} ({', '.join(quote(i) for i in items)})"
        return text, Comparison(Identifier(kind, key), op, items)
    value = draw(strings)
    return f"{identifier} {op} {quote(value)}", Comparison(Identifier(kind, key), op, value)


@given(st.lists(comparisons(), min_size=1, max_size=5))
def test_rendered_filters_parse_back_to_the_same_comparisons(
    parts: list[tuple[str, Comparison]],
) -> None:
    text = " and ".join(part for part, _ in parts)
    assert parse_filter(text) == [expected for _, expected in parts]


@given(st.text(max_size=60))
def test_any_text_parses_or_fails_with_invalid_parameter(text: str) -> None:
    try:
        parse_filter(text)
    except InvalidParameter as error:
        message = error.message
    else:
        message = "parsed"
    assert message


def test_unquoted_dotted_keys_keep_their_dots() -> None:
    assert parse_filter("metrics.val.loss < 1") == [
        Comparison(Identifier("metric", "val.loss"), "<", 1.0)
    ]


def test_bare_attribute_names_are_attributes() -> None:
    assert parse_filter("status = 'FINISHED'") == [
        Comparison(Identifier("attribute", "status"), "=", "FINISHED")
    ]


@pytest.mark.parametrize(
    ("text", "ascending"),
    [("metrics.acc", True), ("metrics.acc DESC", False), ("metrics.acc asc", True)],
)
def test_order_terms_parse_direction(text: str, ascending: bool) -> None:
    term = parse_order_by(text)
    assert term.target == Identifier("metric", "acc")
    assert term.ascending is ascending
