"""MLflow's own validation rules, where they differ from or go beyond our domain's checks.

MLflow truncates over-long param and tag values (our v1 API refuses them), requires keys in
normalised path form, and caps log-batch sizes; code that works against MLflow must work here.
"""

import posixpath
import re

from trackboard.server.errors import InvalidParameter
from trackboard.server.identifiers import parse_id, parse_run_id
from trackboard.server.limits import (
    MAX_NAME_LENGTH,
    MAX_PARAM_VALUE_LENGTH,
    MAX_TAG_VALUE_LENGTH,
)
from trackboard.server.metrics.ingest.parse import INT64_MAX, INT64_MIN
from trackboard.server.mlflow_compat.messages import API_DOCS_HINT, invalid_value, missing_value

MAX_METRICS_PER_BATCH = 1000
MAX_PARAMS_TAGS_PER_BATCH = 100
MAX_ENTITIES_PER_BATCH = 1000
MAX_SEARCH_RESULTS = 50_000
MAX_HISTORY_RESULTS = 25_000
MAX_BULK_RUN_IDS = 100

_KEY_CHARACTERS = re.compile(r"^[/\w.\- :]*$")
_BAD_CHARACTERS = (
    "Names may only contain alphanumerics, underscores (_), dashes (-), periods (.), "
    "spaces ( ), colon(:) and slashes (/)."
)


def check_key(key: str | None, path: str, kind: str) -> str:
    """A param, metric or tag key as MLflow accepts it: characters, path form, length."""
    if key is None:
        raise InvalidParameter(missing_value(path))
    if not _KEY_CHARACTERS.match(key):
        raise InvalidParameter(invalid_value(path, key, _BAD_CHARACTERS))
    normalised = posixpath.normpath(key)
    if normalised != key or normalised == "." or key.startswith(("..", "/")):
        raise InvalidParameter(
            invalid_value(
                path,
                key,
                "Names may be treated as files in certain cases, and must not resolve to other "
                f"names when treated as such. This name would resolve to {normalised!r}",
            )
        )
    if len(key) > MAX_NAME_LENGTH:
        raise InvalidParameter(f"'{kind} key' exceeds the maximum length of {MAX_NAME_LENGTH}")
    return key


def param_value(value: str | None) -> str:
    """MLflow truncates long param values (its default MLFLOW_TRUNCATE_LONG_VALUES=true)."""
    return (value or "")[:MAX_PARAM_VALUE_LENGTH]


def tag_value(value: str | None) -> str:
    return (value or "")[:MAX_TAG_VALUE_LENGTH]


def check_run_id(run_id: str) -> None:
    parse_run_id(run_id)


def check_batch_sizes(metrics: int, params: int, tags: int) -> None:
    limits = (
        ("metrics", metrics, MAX_METRICS_PER_BATCH),
        ("params", params, MAX_PARAMS_TAGS_PER_BATCH),
        ("tags", tags, MAX_PARAMS_TAGS_PER_BATCH),
        ("metrics, params, and tags", metrics + params + tags, MAX_ENTITIES_PER_BATCH),
    )
    for name, count, limit in limits:
        if count > limit:
            raise InvalidParameter(
                f"A batch logging request can contain at most {limit} {name}. "
                f"Got {count} {name}. Please split up {name} across multiple requests and try "
                "again."
            )


def check_max_results(value: int | None, default: int, limit: int) -> int:
    if value is None:
        return default
    if value < 1:
        raise InvalidParameter(
            f"Invalid value {value} for parameter 'max_results' supplied. "
            "It must be a positive integer"
        )
    if value > limit:
        raise InvalidParameter(
            f"Invalid value {value} for parameter 'max_results' supplied. "
            f"It must be at most {limit}"
        )
    return value


def experiment_id(value: str | None) -> int:
    """Our experiment ids are integers; MLflow's clients send them as strings. Parsed by
    the gateway's own parser, so the id used is the id that was authorized."""
    if value is None or value == "":
        raise InvalidParameter(missing_value("experiment_id"))
    return parse_id(value, "experiment ID")


def page_offset(position: int) -> int:
    """A page token's offset, bounded so that no crafted token reaches SQL as an overflow."""
    if position > 2**62:
        raise InvalidParameter("invalid page_token")
    return position


def int_like(value: str | None, path: str) -> int | None:
    """An integer query argument, refused with MLflow's message when it is not one (or does
    not fit in an int64, where MLflow's protobuf parsing fails)."""
    if value is None:
        return None
    try:
        number = int(value)
    except ValueError:
        number = None
    if number is None or not INT64_MIN <= number <= INT64_MAX:
        hint = f" Hint: Value was of type '{type(value).__name__}'."
        raise InvalidParameter(invalid_value(path, value, hint) + API_DOCS_HINT)
    return number
