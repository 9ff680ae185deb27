"""MLflow's error replies: `{"error_code", "message"}` with MLflow's HTTP statuses.

The MLflow client reads `error_code` from any non-200 JSON reply and retries 5xx for about
four minutes, so every mistake of the caller must come back as a 4xx in this shape.
"""

import logging
from collections.abc import Callable, Coroutine
from typing import Any

import orjson
from fastapi import Request, Response
from fastapi.exceptions import RequestValidationError
from fastapi.routing import APIRoute
from starlette.exceptions import HTTPException

from trackboard.server.backends.database import is_unavailable, unavailable_message
from trackboard.server.errors import (
    OUTAGE_RETRY_AFTER_S,
    AlreadyExists,
    TrackboardError,
    Unavailable,
)

logger = logging.getLogger(__name__)

# MLflow answers a duplicate name with 400, where our v1 API says 409.
_STATUS_OVERRIDES: dict[type[TrackboardError], int] = {AlreadyExists: 400}


def mlflow_error(status: int, code: str, message: str) -> Response:
    body = orjson.dumps({"error_code": code, "message": message})
    return Response(body, status_code=status, media_type="application/json")


def error_from_exception(exc: Exception) -> Response:
    """The MLflow reply for an exception raised while handling an MLflow request."""
    if isinstance(exc, TrackboardError):
        status = _STATUS_OVERRIDES.get(type(exc), exc.status)
        response = mlflow_error(status, exc.code, exc.message)
        if isinstance(exc, Unavailable):
            response.headers["Retry-After"] = str(exc.retry_after_s)
        return response
    if isinstance(exc, RequestValidationError):
        return mlflow_error(400, "INVALID_PARAMETER_VALUE", str(exc.errors()))
    if isinstance(exc, HTTPException):
        code = "ENDPOINT_NOT_FOUND" if exc.status_code == 404 else "BAD_REQUEST"
        return mlflow_error(exc.status_code, code, str(exc.detail))
    if is_unavailable(exc):
        # MLflow's client retries a 503 with backoff: the training script rides it out.
        response = mlflow_error(503, "TEMPORARILY_UNAVAILABLE", unavailable_message(exc))
        response.headers["Retry-After"] = str(OUTAGE_RETRY_AFTER_S)
        return response
    logger.exception("unexpected error in an MLflow request")
    return mlflow_error(500, "INTERNAL_ERROR", f"internal error: {type(exc).__name__}")


class MlflowRoute(APIRoute):
    """A route whose errors, raised anywhere in its handler or dependencies, use MLflow's shape."""

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        handler = super().get_route_handler()

        async def handle(request: Request) -> Response:
            try:
                return await handler(request)
            except Exception as exc:  # every failure becomes an MLflow reply
                return error_from_exception(exc)

        return handle
