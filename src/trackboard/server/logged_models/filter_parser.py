"""MLflow's logged-model filter: attributes, metrics, params and tags, joined by AND.

    name = 'model' AND metrics.accuracy > 0.9 AND params.`max depth` = '3'
    source_run_id = '9f0e…' AND creation_timestamp > 1700000000000

Reuses the run filter's scanner and parser (`search.filter_parser`, as the experiment
filter does); only the attributes differ. As in MLflow, an order-by is a field name
(`creation_timestamp`, `metrics.accuracy`) with a direction given apart.
"""

from trackboard.server.errors import InvalidParameter
from trackboard.server.search.filter_parser import Comparison, Identifier, Token, _Parser

STRING_ATTRIBUTES = {"name", "model_id", "model_type", "status", "source_run_id"}
NUMERIC_ATTRIBUTES = {"creation_timestamp_ms", "last_updated_timestamp_ms"}
ALIASES = {
    "creation_time": "creation_timestamp_ms",
    "creation_timestamp": "creation_timestamp_ms",
    "last_updated_timestamp": "last_updated_timestamp_ms",
}
_PREFIXES = {"attributes": "attribute", "metrics": "metric", "params": "param", "tags": "tag"}


def attribute(name: str, where: str = "") -> Identifier:
    """A logged model's attribute by MLflow's name or alias, or InvalidParameter."""
    name = ALIASES.get(name, name)
    if name not in STRING_ATTRIBUTES | NUMERIC_ATTRIBUTES:
        known = ", ".join(sorted(STRING_ATTRIBUTES | NUMERIC_ATTRIBUTES | set(ALIASES)))
        raise InvalidParameter(f"Invalid attribute {name!r}{where}; known: {known}")
    return Identifier("attribute", name)


def is_numeric(target: Identifier) -> bool:
    return target.kind == "metric" or (
        target.kind == "attribute" and target.key in NUMERIC_ATTRIBUTES
    )


class _LoggedModelParser(_Parser):
    def identifier(self) -> Identifier:
        first = self.next("an identifier such as name or metrics.accuracy")
        if first.kind != "word":
            raise self.fail(first, "an identifier such as name or metrics.accuracy")
        token = self.peek()
        if token is None or token.text != ".":
            return self._attribute(first.text, first)
        self.index += 1
        kind = _PREFIXES.get(first.text)
        if kind is None:
            raise InvalidParameter(
                f"Invalid entity type: {first.text!r}. Expected one of "
                "['attributes', 'metrics', 'params', 'tags']."
            )
        key = self._key()
        if kind == "attribute":
            return self._attribute(key, first)
        return Identifier(kind, key)  # type: ignore[arg-type]

    def _attribute(self, name: str, token: Token) -> Identifier:
        return attribute(name, f" at {token.position}")

    def comparison(self) -> Comparison:
        target = self.identifier()
        operator = self.operator()
        numeric = is_numeric(target)
        allowed = ("<", "<=", ">", ">=", "=", "!=") if numeric else _STRING_OPERATORS
        if operator not in allowed:
            raise InvalidParameter(
                f"Invalid comparison operator for {target.kind}s.{target.key}: {operator!r}. "
                f"Expected one of {allowed}."
            )
        if operator in ("IN", "NOT IN"):
            return Comparison(target, operator, self.string_list())
        token = self.next("a value")
        if numeric:
            if token.kind != "number":
                raise self.fail(token, f"a number to compare {target.key!r} with")
            return Comparison(target, operator, float(token.text))
        if token.kind != "string":
            raise self.fail(token, f"a quoted string to compare {target.key!r} with")
        return Comparison(target, operator, token.text[1:-1])


_STRING_OPERATORS = ("=", "!=", "LIKE", "ILIKE", "IN", "NOT IN")


def parse_model_filter(text: str | None) -> list[Comparison]:
    """The comparisons of a logged-model filter, all of which must hold; empty for none."""
    if text is None or not text.strip():
        return []
    return _LoggedModelParser(text).filter()


def parse_order_field(field_name: str) -> Identifier:
    """An order-by field: an attribute (by name or alias) or `metrics.<key>`."""
    prefix, dot, key = field_name.partition(".")
    if not dot:
        try:
            return attribute(field_name)
        except InvalidParameter:
            raise InvalidParameter(f"Invalid order by field name: {field_name}") from None
    if prefix != "metrics":
        raise InvalidParameter(
            f"Invalid order by field name: {field_name}. Only metrics are supported."
        )
    return Identifier("metric", key.strip("`"))
