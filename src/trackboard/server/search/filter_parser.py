"""Parse MLflow's run filter and order-by language into small typed trees.

    metrics.acc > 0.9 and params.lr = '0.01' and tags.`team name` LIKE 'nlp%'
    attributes.status IN ('FINISHED', 'FAILED')

A hand-written scanner and recursive-descent parser: every error names the position and
what was expected, and values never reach SQL as text (see `repository.py`).

A filter is bounded in length and in comparisons, and a sort in terms, here where every
door (v1, MLflow runs and experiments) parses them: each metric, param or tag compared or
sorted by joins its own table alias, and SQLite refuses a join of more than 64 tables or
an expression tree deeper than 1,000, where PostgreSQL would go on; the bounds make both
stores answer the same 400 instead of a 500 on one of them.
"""

import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

from trackboard.server.errors import InvalidParameter

EntityKind = Literal["metric", "param", "tag", "attribute", "dataset"]

ENTITY_PREFIXES: dict[str, EntityKind] = {
    "metric": "metric",
    "metrics": "metric",
    "param": "param",
    "params": "param",
    "parameter": "param",
    "parameters": "param",
    "tag": "tag",
    "tags": "tag",
    "attr": "attribute",
    "attribute": "attribute",
    "attributes": "attribute",
    "run": "attribute",
    # A run's dataset inputs (MLflow's `datasets.name`, `.digest`, `.context`): filter only.
    "dataset": "dataset",
    "datasets": "dataset",
}
DATASET_KEYS = {"name", "digest", "context"}
STRING_ATTRIBUTES = {"status", "run_name", "user", "user_id", "run_id", "lifecycle_stage"}
NUMERIC_ATTRIBUTES = {"start_time", "end_time", "created"}
ATTRIBUTE_ALIASES = {"user_id": "user", "created": "start_time", "runname": "run_name"}

NUMERIC_OPERATORS = {"=", "!=", ">", ">=", "<", "<="}
# Long enough for generated `run_id IN (...)` lists of a thousand ids; the join bound is
# what keeps the query small: comparisons + sort terms + the runs table stay within 64.
MAX_FILTER_LENGTH = 65_536
MAX_FILTER_COMPARISONS = 50
MAX_ORDER_TERMS = 10
STRING_OPERATORS = {"=", "!=", "LIKE", "ILIKE", "IN", "NOT IN"}


@dataclass(frozen=True)
class Identifier:
    kind: EntityKind
    key: str


@dataclass(frozen=True)
class Comparison:
    target: Identifier
    operator: str
    value: float | str | tuple[str, ...] | None


@dataclass(frozen=True)
class OrderTerm:
    target: Identifier
    ascending: bool


_TOKEN = re.compile(
    r"""
    (?P<space>\s+)
  | (?P<backquoted>`[^`]*`)
  | (?P<string>'(?:[^']|'')*'|"(?:[^"]|"")*")
  | (?P<number>[-+]?(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?)
  | (?P<operator>>=|<=|!=|<>|==|=|>|<)
  | (?P<word>[A-Za-z_][A-Za-z0-9_\-:/]*)
  | (?P<punct>[().,])
    """,
    re.VERBOSE,
)


@dataclass(frozen=True)
class Token:
    kind: str
    text: str
    position: int


def tokenize(text: str) -> list[Token]:
    tokens = []
    position = 0
    while position < len(text):
        match = _TOKEN.match(text, position)
        if match is None:
            raise InvalidParameter(f"unexpected character {text[position]!r} at {position}")
        kind = match.lastgroup or ""
        if kind != "space":
            tokens.append(Token(kind, match.group(), position))
        position = match.end()
    return tokens


def _unquote(token: Token) -> str:
    body = token.text[1:-1]
    if token.kind == "backquoted":
        return body
    # A quote inside a string is written twice, as in SQL: 'it''s'.
    quote = token.text[0]
    return body.replace(quote * 2, quote)


def check_filter_length(text: str) -> None:
    if len(text) > MAX_FILTER_LENGTH:
        raise InvalidParameter(
            f"a filter holds at most {MAX_FILTER_LENGTH} characters, got {len(text)}"
        )


class _Parser:
    def __init__(self, text: str) -> None:
        check_filter_length(text)
        self.text = text
        self.tokens = tokenize(text)
        self.index = 0

    def peek(self) -> Token | None:
        return self.tokens[self.index] if self.index < len(self.tokens) else None

    def next(self, expected: str) -> Token:
        token = self.peek()
        if token is None:
            raise InvalidParameter(f"expected {expected} at the end of {self.text!r}")
        self.index += 1
        return token

    def fail(self, token: Token, expected: str) -> InvalidParameter:
        return InvalidParameter(f"expected {expected} at {token.position}, found {token.text!r}")

    def at_word(self, *words: str) -> bool:
        token = self.peek()
        return token is not None and token.kind == "word" and token.text.upper() in words

    def identifier(self) -> Identifier:
        first = self.next("an identifier such as metrics.loss")
        if first.kind == "backquoted" or first.kind == "string":
            raise self.fail(first, "an identifier such as metrics.loss")
        if first.kind != "word":
            raise self.fail(first, "an identifier such as metrics.loss")
        token = self.peek()
        if token is None or token.text != ".":
            name = first.text.lower()
            return self._attribute(ATTRIBUTE_ALIASES.get(name, name), first)
        self.index += 1
        kind = ENTITY_PREFIXES.get(first.text.lower())
        if kind is None:
            raise InvalidParameter(
                f"unknown entity {first.text!r} at {first.position}: "
                "use metrics., params., tags. or attributes."
            )
        key = self._key()
        if kind == "attribute":
            name = key.lower()
            return self._attribute(ATTRIBUTE_ALIASES.get(name, name), first)
        if kind == "dataset" and key not in DATASET_KEYS:
            raise InvalidParameter(
                f"Invalid dataset key '{key}' specified. Valid keys are '{sorted(DATASET_KEYS)}'"
            )
        return Identifier(kind, key)

    def _key(self) -> str:
        token = self.next("a key")
        if token.kind in ("backquoted", "string"):
            return _unquote(token)
        if token.kind not in ("word", "number"):
            raise self.fail(token, "a key")
        parts = [token.text]
        # Unquoted keys may contain dots: metrics.val.loss is the key "val.loss".
        while (
            (dot := self.peek()) is not None
            and dot.text == "."
            and dot.position
            == (self.tokens[self.index - 1].position + len(self.tokens[self.index - 1].text))
        ):
            self.index += 1
            part = self.next("a key part")
            if part.kind not in ("word", "number"):
                raise self.fail(part, "a key part")
            parts.append(".")
            parts.append(part.text)
        return "".join(parts)

    def _attribute(self, name: str, token: Token) -> Identifier:
        if name not in STRING_ATTRIBUTES | NUMERIC_ATTRIBUTES:
            known = ", ".join(sorted(STRING_ATTRIBUTES | NUMERIC_ATTRIBUTES))
            raise InvalidParameter(
                f"unknown attribute {name!r} at {token.position}; known: {known}"
            )
        return Identifier("attribute", name)

    def operator(self) -> str:
        token = self.next("a comparison operator")
        if token.kind == "operator":
            return {"==": "=", "<>": "!="}.get(token.text, token.text)
        word = token.text.upper()
        if token.kind == "word" and word in ("LIKE", "ILIKE", "IN"):
            return word
        if token.kind == "word" and word == "NOT" and self.at_word("IN"):
            self.index += 1
            return "NOT IN"
        raise self.fail(token, "a comparison operator (=, !=, >, >=, <, <=, LIKE, ILIKE, IN)")

    def string_list(self) -> tuple[str, ...]:
        opening = self.next("(")
        if opening.text != "(":
            raise self.fail(opening, "a parenthesised list such as ('a', 'b')")
        items = []
        while True:
            item = self.next("a quoted string")
            if item.kind != "string":
                raise self.fail(item, "a quoted string")
            items.append(_unquote(item))
            separator = self.next(", or )")
            if separator.text == ")":
                return tuple(items)
            if separator.text != ",":
                raise self.fail(separator, ", or )")

    def null_test(self, target: Identifier) -> Comparison:
        self.index += 1  # IS
        negated = self.at_word("NOT")
        if negated:
            self.index += 1
        token = self.next("NULL")
        if token.kind != "word" or token.text.upper() != "NULL":
            raise self.fail(token, "NULL")
        if target.kind not in ("tag", "param"):
            raise InvalidParameter(
                f"IS NULL and IS NOT NULL only apply to tags and params, not {target.kind} "
                f"{target.key!r}"
            )
        return Comparison(target, "IS NOT NULL" if negated else "IS NULL", None)

    def comparison(self) -> Comparison:
        target = self.identifier()
        if self.at_word("IS"):
            return self.null_test(target)
        operator = self.operator()
        numeric = target.kind == "metric" or (
            target.kind == "attribute" and target.key in NUMERIC_ATTRIBUTES
        )
        allowed = NUMERIC_OPERATORS if numeric else STRING_OPERATORS
        if operator not in allowed:
            raise InvalidParameter(
                f"operator {operator} cannot compare {target.kind} {target.key!r}; "
                f"use one of {', '.join(sorted(allowed))}"
            )
        if operator in ("IN", "NOT IN"):
            return Comparison(target, operator, self.string_list())
        token = self.next("a value")
        if numeric:
            if token.kind != "number":
                raise self.fail(token, f"a number to compare {target.kind} {target.key!r} with")
            return Comparison(target, operator, float(token.text))
        if token.kind != "string":
            raise self.fail(token, f"a quoted string to compare {target.kind} {target.key!r} with")
        return Comparison(target, operator, _unquote(token))

    def filter(self) -> list[Comparison]:
        comparisons = [self.comparison()]
        while (token := self.peek()) is not None:
            if token.kind == "word" and token.text.upper() == "AND":
                if len(comparisons) == MAX_FILTER_COMPARISONS:
                    raise InvalidParameter(
                        f"a filter holds at most {MAX_FILTER_COMPARISONS} comparisons "
                        f"joined by AND; more follow at {token.position}"
                    )
                self.index += 1
                comparisons.append(self.comparison())
            elif token.kind == "word" and token.text.upper() == "OR":
                raise InvalidParameter(f"OR is not supported (at {token.position}); use AND")
            else:
                raise self.fail(token, "AND or the end of the filter")
        return comparisons

    def order_term(self) -> OrderTerm:
        target = self.identifier()
        if target.kind == "dataset":
            raise InvalidParameter("runs cannot be ordered by their datasets")
        ascending = True
        token = self.peek()
        if token is not None:
            direction = token.text.upper()
            if token.kind != "word" or direction not in ("ASC", "DESC"):
                raise self.fail(token, "ASC, DESC or the end of the order_by term")
            ascending = direction == "ASC"
            self.index += 1
        if (extra := self.peek()) is not None:
            raise self.fail(extra, "the end of the order_by term")
        return OrderTerm(target, ascending)


def parse_filter(text: str | None) -> list[Comparison]:
    """The comparisons of a filter, all of which must hold; empty for no filter."""
    if text is None or not text.strip():
        return []
    return _Parser(text).filter()


def parse_order_by(term: str) -> OrderTerm:
    if not term.strip():
        raise InvalidParameter("empty order_by term")
    return _Parser(term).order_term()


def check_order_term_count(terms: Sequence[str]) -> None:
    if len(terms) > MAX_ORDER_TERMS:
        raise InvalidParameter(f"order_by holds at most {MAX_ORDER_TERMS} terms, got {len(terms)}")


def parse_order(terms: Sequence[str]) -> list[OrderTerm]:
    """The sort terms of a search, in order; at most `MAX_ORDER_TERMS`."""
    check_order_term_count(terms)
    return [parse_order_by(term) for term in terms]
