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
