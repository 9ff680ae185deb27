"""Size limits of keys and values, MLflow's so that code valid there is valid here."""

import re

from trackboard.server.errors import InvalidParameter

MAX_NAME_LENGTH = 250
MAX_EXPERIMENT_NAME_LENGTH = 500
MAX_PARAM_VALUE_LENGTH = 6000
MAX_TAG_VALUE_LENGTH = 8000
MAX_EXPERIMENT_TAG_VALUE_LENGTH = 5000
MAX_POINTS_PER_BATCH = 10_000

# MLflow's rule: alphanumerics, underscores, dashes, periods, spaces, slashes (and colons).
_KEY_PATTERN = re.compile(r"^[/\w.\- :]*$")


def check_key(kind: str, key: str) -> None:
    """Reject keys MLflow would reject: empty, too long, odd characters, `..` path parts."""
    if not key:
        raise InvalidParameter(f"{kind} key must not be empty")
    if len(key) > MAX_NAME_LENGTH:
        raise InvalidParameter(f"{kind} key {key[:40]!r}… exceeds {MAX_NAME_LENGTH} characters")
    if not _KEY_PATTERN.match(key) or key.startswith("/") or ".." in key.split("/"):
        raise InvalidParameter(
            f"invalid {kind} key {key!r}: use alphanumerics, underscores (_), dashes (-), "
            "periods (.), spaces ( ), colons (:) and slashes (/)"
        )


def check_value_length(kind: str, key: str, value: str, limit: int) -> None:
    if len(value) > limit:
        raise InvalidParameter(f"{kind} {key!r} value exceeds {limit} characters")
