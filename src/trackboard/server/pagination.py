"""Opaque page tokens: what a page ended on, encoded so clients treat it as a black box."""

import base64
import binascii
from typing import Any

import orjson

from trackboard.server.errors import InvalidParameter


def encode_page_token(position: dict[str, Any]) -> str:
    return base64.urlsafe_b64encode(orjson.dumps(position)).decode()


def decode_page_token(token: str | None) -> dict[str, Any]:
    if not token:
        return {}
    try:
        position = orjson.loads(base64.urlsafe_b64decode(token.encode()))
    except (binascii.Error, ValueError) as exc:
        raise InvalidParameter(f"invalid page_token {token!r}") from exc
    if not isinstance(position, dict):
        raise InvalidParameter(f"invalid page_token {token!r}")
    return position


def token_int(position: dict[str, Any], name: str, default: int = 0) -> int:
    value = position.get(name, default)
    if not isinstance(value, int) or value < 0:
        raise InvalidParameter("invalid page_token")
    return value
