"""MLflow's experiment filter and order-by language: attributes and tags, joined by AND.

    name LIKE 'vision%' and tags.team = 'nlp' and creation_time > 1700000000000
    experiment_id IN ('1', '2')

Reuses the run filter's scanner and parser; only the identifiers and their rules differ.
"""

from trackboard.server.errors import InvalidParameter
from trackboard.server.search.filter_parser import (
    Comparison,
    Identifier,
    OrderTerm,
    Token,
    _Parser,
)

STRING_ATTRIBUTES = {"name", "experiment_id"}
NUMERIC_ATTRIBUTES = {"creation_time", "last_update_time"}
ORDER_ATTRIBUTES = STRING_ATTRIBUTES | NUMERIC_ATTRIBUTES
_PREFIXES = {"attribute": "attribute", "attributes": "attribute", "tag": "tag", "tags": "tag"}
_OPERATORS = {
    "name": {"=", "!=", "LIKE", "ILIKE"},
    "experiment_id": {"=", "!=", "IN", "NOT IN"},
    "numeric": {"=", "!=", ">", ">=", "<", "<="},
    "tag": {"=", "!=", "LIKE", "ILIKE"},
}


class _ExperimentParser(_Parser):
    def identifier(self) -> Identifier:
        first = self.next("an identifier such as name or tags.team")
        if first.kind != "word":
            raise self.fail(first, "an identifier such as name or tags.team")
        token = self.peek()
        if token is None or token.text != ".":
            return self._attribute(first.text, first)
        self.index += 1
        kind = _PREFIXES.get(first.text.lower())
        if kind is None:
            raise InvalidParameter(
                f"invalid entity type {first.text!r} at {first.position}: "
                "experiments are searched by attributes and tags. only"
            )
        key = self._key()
        if kind == "attribute":
            return self._attribute(key, first)
        return Identifier("tag", key)

    def _attribute(self, name: str, token: Token) -> Identifier:
        if name not in ORDER_ATTRIBUTES:
            known = ", ".join(sorted(ORDER_ATTRIBUTES))
            raise InvalidParameter(
                f"invalid attribute {name!r} at {token.position}; known: {known}"
            )
        return Identifier("attribute", name)

    def comparison(self) -> Comparison:
        target = self.identifier()
        if self.at_word("IS"):
            return self.null_test(target)
        operator = self.operator()
        if target.kind == "tag":
            group = "tag"
        elif target.key in NUMERIC_ATTRIBUTES:
            group = "numeric"
        else:
            group = target.key
        allowed = _OPERATORS[group]
        if operator not in allowed:
            raise InvalidParameter(
                f"operator {operator} cannot compare {target.key!r}; "
                f"use one of {', '.join(sorted(allowed))}"
            )
        if operator in ("IN", "NOT IN"):
            return Comparison(target, operator, self.string_list())
        token = self.next("a value")
        if group == "numeric":
            if token.kind != "number":
                raise self.fail(token, f"a number to compare {target.key!r} with")
            return Comparison(target, operator, float(token.text))
        if token.kind != "string":
            raise self.fail(token, f"a quoted string to compare {target.key!r} with")
        return Comparison(target, operator, _unquoted(token))


def _unquoted(token: Token) -> str:
    # MLflow does no escape processing inside quotes: the text between them is the value.
    return token.text[1:-1]


def parse_experiment_filter(text: str | None) -> list[Comparison]:
    """The comparisons of an experiment filter, all of which must hold; empty for none."""
    if text is None or not text.strip():
        return []
    return _ExperimentParser(text).filter()


def parse_experiment_order_by(term: str) -> OrderTerm:
    if not term.strip():
        raise InvalidParameter("empty order_by term")
    order = _ExperimentParser(term).order_term()
    if order.target.kind != "attribute":
        raise InvalidParameter(f"invalid order_by entity in {term!r}: only attributes sort")
    return order
