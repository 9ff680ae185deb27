"""Errors of the gateway: no or bad credentials, not allowed, too many requests."""

from trackboard.server.errors import TrackboardError


class UnauthenticatedError(TrackboardError):
    status = 401
    code = "UNAUTHENTICATED"


class PermissionDeniedError(TrackboardError):
    status = 403
    code = "PERMISSION_DENIED"


class RateLimitedError(TrackboardError):
    status = 429
    code = "REQUEST_LIMIT_EXCEEDED"

    def __init__(self, message: str, retry_after_s: int = 1) -> None:
        super().__init__(message)
        self.retry_after_s = retry_after_s
