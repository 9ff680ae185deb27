"""Turn service errors and malformed requests into `{"error": {"code", "message"}}` replies."""

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException

from trackboard.server.backends.database import is_unavailable, unavailable_message
from trackboard.server.errors import (
    OUTAGE_RETRY_AFTER_S,
    TrackboardError,
    Unavailable,
)
from trackboard.server.gateway.denials import RateLimitedError


def error_response(status: int, code: str, message: str) -> JSONResponse:
    return JSONResponse({"error": {"code": code, "message": message}}, status_code=status)


def describe_validation_error(exc: RequestValidationError) -> str:
    parts = []
    for error in exc.errors():
        location = ".".join(str(item) for item in error.get("loc", ()) if item != "body")
        parts.append(f"{location}: {error.get('msg', 'invalid')}" if location else error["msg"])
    return "; ".join(parts) or "invalid request"


async def handle_trackboard_error(_request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, TrackboardError)
    response = error_response(exc.status, exc.code, exc.message)
    if isinstance(exc, Unavailable | RateLimitedError):
        response.headers["Retry-After"] = str(exc.retry_after_s)
    return response


async def handle_validation_error(_request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, RequestValidationError)
    return error_response(400, "INVALID_PARAMETER_VALUE", describe_validation_error(exc))


async def handle_http_error(_request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, HTTPException)
    codes = {404: "ENDPOINT_NOT_FOUND", 405: "METHOD_NOT_ALLOWED"}
    code = codes.get(exc.status_code, "BAD_REQUEST" if exc.status_code < 500 else "INTERNAL_ERROR")
    response = error_response(exc.status_code, code, str(exc.detail))
    for name, value in (exc.headers or {}).items():
        response.headers[name] = value
    return response


async def handle_unreachable(request: Request, exc: Exception) -> JSONResponse:
    """A backing service (the database above all) is unreachable, or every pooled database
    connection stayed busy: a 503 the client can retry, never a bare 500. Any other
    database error is a bug, and goes on to the server-error handler."""
    if not is_unavailable(exc):
        raise exc
    response = error_response(503, "TEMPORARILY_UNAVAILABLE", unavailable_message(exc))
    response.headers["Retry-After"] = str(OUTAGE_RETRY_AFTER_S)
    return response


def install_error_handlers(app: FastAPI) -> None:
    from sqlalchemy.exc import DBAPIError
    from sqlalchemy.exc import TimeoutError as PoolTimeoutError

    app.add_exception_handler(TrackboardError, handle_trackboard_error)
    # Connection errors only: a missing artifact file is an OSError too, and not an outage.
    for unreachable in (DBAPIError, ConnectionError, TimeoutError, PoolTimeoutError):
        app.add_exception_handler(unreachable, handle_unreachable)
    app.add_exception_handler(RequestValidationError, handle_validation_error)
    app.add_exception_handler(HTTPException, handle_http_error)
