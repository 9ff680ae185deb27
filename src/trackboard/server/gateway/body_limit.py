"""Request body limits by route class, enforced before and while a body is read.

A declared `Content-Length` over the route's limit is answered 413 before a byte of the
body is read. Every body is also counted as the app receives it (a chunked one declares
no length): at the limit the middleware answers 413 itself, tells the app that the
client went away (`http.disconnect`), and drops whatever the app sends afterwards. The
server stops reading a body nobody receives, so memory does not grow with the size of a
refused body. Every 413 closes the connection, since the rest of the body is unread.
"""

import logging
import re
from dataclasses import dataclass

from starlette.datastructures import Headers
from starlette.requests import ClientDisconnect
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from trackboard.server.gateway.error_replies import send_json_error
from trackboard.server.limits import (
    MAX_NAME_LENGTH,
    MAX_PARAM_VALUE_LENGTH,
    MAX_POINTS_PER_BATCH,
    MAX_TAG_VALUE_LENGTH,
)
from trackboard.server.mlflow_compat.validation import (
    MAX_METRICS_PER_BATCH,
    MAX_PARAMS_TAGS_PER_BATCH,
)

logger = logging.getLogger(__name__)

# One metric point in the row format at its largest: a 250-character key written as
# \uXXXX escapes (6 bytes a character), value, step, timestamp and some pretty-printing.
METRIC_POINT_JSON_BYTES = 2048
# A character of a JSON string written as a \uXXXX escape.
ESCAPED_CHARACTER_BYTES = 6
# batch_id, run_id, field names and brackets around the points.
ENVELOPE_BYTES = 64 * 1024
# v1: up to MAX_POINTS_PER_BATCH points; 20.5 MB.
METRIC_BATCH_BYTES = MAX_POINTS_PER_BATCH * METRIC_POINT_JSON_BYTES + ENVELOPE_BYTES
# MLflow log-batch: its metrics, and its params and tags at their longest; 10.8 MB.
MLFLOW_BATCH_BYTES = (
    MAX_METRICS_PER_BATCH * METRIC_POINT_JSON_BYTES
    + MAX_PARAMS_TAGS_PER_BATCH
    * ESCAPED_CHARACTER_BYTES
    * (2 * MAX_NAME_LENGTH + MAX_PARAM_VALUE_LENGTH + MAX_TAG_VALUE_LENGTH)
    + ENVELOPE_BYTES
)

ARTIFACT_UPLOAD_PREFIX = "/api/2.0/mlflow-artifacts/artifacts/"
# The v1 artifact upload (the Python client's log_artifact, log_image, ...).
_V1_ARTIFACT_PATH = re.compile(r"/api/v1/runs/[^/]+/artifacts/.+")
_METRIC_BATCH_PATH = re.compile(r"/api/v1/runs/[^/]+/metrics")
_MLFLOW_BATCH_PATH = re.compile(r"/(?:api|ajax-api)/2\.0/mlflow/runs/log-batch")
# Params and tags of a run in one request, which v1 does not count (the Python client's
# config, the importer's copy of an MLflow run), and MLflow's dataset inputs (a schema may
# take 1 MiB there): they get what one MLflow log-batch may carry.
_RUN_DATA_PATH = re.compile(
    r"/api/v1/experiments/[^/]+/runs|/api/v1/runs/[^/]+/(?:params|tags)"
    r"|/(?:api|ajax-api)/2\.0/mlflow/runs/log-inputs"
)

REFUSED_CODE = "RESOURCE_LIMIT_EXCEEDED"  # MLflow's name: its client knows the code


@dataclass(frozen=True)
class BodyLimits:
    """The largest body, in bytes, each class of route takes."""

    default: int  # TRACKBOARD_MAX_REQUEST_BYTES
    artifact: int  # TRACKBOARD_MAX_ARTIFACT_BYTES
    metric_batch: int = METRIC_BATCH_BYTES
    mlflow_batch: int = MLFLOW_BATCH_BYTES

    def for_request(self, method: str, path: str) -> int:
        if method == "PUT" and (
            path.startswith(ARTIFACT_UPLOAD_PREFIX) or _V1_ARTIFACT_PATH.fullmatch(path)
        ):
            return self.artifact
        if method == "POST" and _METRIC_BATCH_PATH.fullmatch(path):
            return max(self.default, self.metric_batch)
        if method == "POST" and (
            _MLFLOW_BATCH_PATH.fullmatch(path) or _RUN_DATA_PATH.fullmatch(path)
        ):
            return max(self.default, self.mlflow_batch)
        return self.default


def declared_length(headers: Headers) -> int | None:
    """The Content-Length, if one was sent (the server has refused malformed ones)."""
    value = headers.get("content-length")
    return int(value) if value is not None and value.strip().isdigit() else None


class BodyLimitMiddleware:
    def __init__(self, app: ASGIApp, limits: BodyLimits) -> None:
        self.app = app
        self.limits = limits

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            # Websocket messages are bounded by the server (uvicorn's --ws-max-size).
            await self.app(scope, receive, send)
            return
        limit = self.limits.for_request(scope["method"], scope["path"])
        declared = declared_length(Headers(scope=scope))
        if declared is not None and declared > limit:
            await self.refuse(scope, send, limit)
            return
        received = 0
        started = False
        answered = False

        async def counted_receive() -> Message:
            nonlocal received, answered
            if answered:
                return {"type": "http.disconnect"}
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > limit:
                    if not started:
                        answered = True
                        await self.refuse(scope, send, limit)
                    return {"type": "http.disconnect"}
            return message

        async def tracked_send(message: Message) -> None:
            nonlocal started
            if answered:
                return  # the app's answer to a body it did not get in full
            started = started or message["type"] == "http.response.start"
            await send(message)

        try:
            await self.app(scope, counted_receive, tracked_send)
        except ClientDisconnect:
            if not answered:
                raise
            logger.debug("request to %s stopped at its body limit", scope["path"])

    async def refuse(self, scope: Scope, send: Send, limit: int) -> None:
        await send_json_error(
            scope,
            send,
            413,
            REFUSED_CODE,
            f"the request body exceeds this route's limit of {limit} bytes",
            [(b"connection", b"close")],
        )
