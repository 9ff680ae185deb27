"""Error replies sent by ASGI middleware, before a route runs, in the caller's error shape.

MLflow paths get MLflow's `{"error_code", "message"}`, everything else the v1 API's
`{"error": {"code", "message"}}`; the routes' own errors take the same two shapes.
"""

from collections.abc import Sequence

import orjson
from starlette.types import Scope, Send

from trackboard.server.gateway.access_policy import is_mlflow_path


def error_body(path: str, code: str, message: str) -> bytes:
    """The JSON error body a client of `path` expects."""
    if is_mlflow_path(path):
        return orjson.dumps({"error_code": code, "message": message})
    return orjson.dumps({"error": {"code": code, "message": message}})


async def send_json_error(
    scope: Scope,
    send: Send,
    status: int,
    code: str,
    message: str,
    headers: Sequence[tuple[bytes, bytes]] = (),
) -> None:
    """Answer an HTTP request with an error; a websocket is closed with policy violation."""
    if scope["type"] == "websocket":
        await send({"type": "websocket.close", "code": 1008, "reason": message[:120]})
        return
    payload = error_body(scope.get("path", ""), code, message)
    start_headers = [
        (b"content-type", b"application/json"),
        (b"content-length", str(len(payload)).encode()),
        *headers,
    ]
    await send({"type": "http.response.start", "status": status, "headers": start_headers})
    await send({"type": "http.response.body", "body": payload})
