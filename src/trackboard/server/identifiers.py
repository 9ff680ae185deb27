"""The one parser of ids, shared by the gateway, the v1 and MLflow routes, the live socket
and the CLI: what authorization checks is exactly what the services then use.

Numeric ids (experiments, projects, keys) are written one way only: ASCII decimal digits,
no sign, no leading zeros (but `0` itself), no spaces, within int64; a JSON body may also
give them as a JSON integer. `+2`, `2.0`, `02`, ` 2`, `2e0`, `٢` or `true` are refused
rather than read as 2, so no two spellings can name the same object. Run ids are
case-sensitive ASCII text in MLflow's alphabet, compared as they are.
"""

import re
from typing import Annotated

from pydantic import BeforeValidator

from trackboard.server.errors import InvalidParameter

INT64_MAX = 2**63 - 1
MAX_RUN_ID_LENGTH = 256

# `re.ASCII` keeps `\d`-like classes out; the pattern spells digits explicitly anyway.
_CANONICAL_ID = re.compile(r"0|[1-9][0-9]{0,18}", re.ASCII)
# MLflow's run id rule (`[a-zA-Z0-9][\w\-]{0,255}`) restricted to ASCII.
_RUN_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9_\-]{0,255}", re.ASCII)
# Logged model ids: MLflow makes `m-<32 hex digits>`; the same alphabet as run ids, shorter.
_MODEL_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9_\-]{0,63}", re.ASCII)


def parse_id(value: object, kind: str = "id") -> int:
    """A numeric id from path, query or JSON text, or InvalidParameter (a 400)."""
    if isinstance(value, int) and not isinstance(value, bool):
        if 0 <= value <= INT64_MAX:
            return value
    elif isinstance(value, str) and _CANONICAL_ID.fullmatch(value):
        number = int(value)
        if number <= INT64_MAX:
            return number
    raise InvalidParameter(
        f"Invalid {kind} {_shown(value)}: ids are decimal digits without sign, spaces or "
        f"leading zeros, at most {INT64_MAX}"
    )


def parse_run_id(value: object) -> str:
    """A run id as text, or InvalidParameter: MLflow's alphabet, ASCII only."""
    if isinstance(value, str) and _RUN_ID.fullmatch(value):
        return value
    raise InvalidParameter(f"Invalid run ID: {_shown(value)}")


def parse_model_id(value: object) -> str:
    """A logged model id as text, or InvalidParameter: the run id alphabet, ≤ 64 characters."""
    if isinstance(value, str) and _MODEL_ID.fullmatch(value):
        return value
    raise InvalidParameter(f"Invalid model ID: {_shown(value)}")


def _shown(value: object) -> str:
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


def id_field(value: object) -> int:
    # Pydantic turns a ValueError into a validation error (a 400 on every door).
    try:
        return parse_id(value)
    except InvalidParameter as exc:
        raise ValueError(exc.message) from None


def run_id_field(value: object) -> str:
    try:
        return parse_run_id(value)
    except InvalidParameter as exc:
        raise ValueError(exc.message) from None


# For pydantic models and FastAPI path/query parameters.
Id = Annotated[int, BeforeValidator(id_field)]
RunId = Annotated[str, BeforeValidator(run_id_field)]
