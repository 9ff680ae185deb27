"""Errors the services raise; the gateway maps them to HTTP (v1 and MLflow shapes alike)."""


class TrackboardError(Exception):
    """Base class: `code` is MLflow's error code name, `status` the HTTP status."""

    status = 500
    code = "INTERNAL_ERROR"

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class InvalidParameter(TrackboardError):
    status = 400
    code = "INVALID_PARAMETER_VALUE"


class NotFound(TrackboardError):
    status = 404
    code = "RESOURCE_DOES_NOT_EXIST"


class AlreadyExists(TrackboardError):
    status = 409
    code = "RESOURCE_ALREADY_EXISTS"


class Unavailable(TrackboardError):
    """The store or queue cannot take the request now; the client should retry later."""

    status = 503
    code = "TEMPORARILY_UNAVAILABLE"

    def __init__(self, message: str, retry_after_s: int = 1) -> None:
        super().__init__(message)
        self.retry_after_s = retry_after_s


# Seconds a client is told to wait (Retry-After) while a backing service is unreachable.
OUTAGE_RETRY_AFTER_S = 5
OUTAGE_MESSAGE = "a backing service is unreachable; retry shortly"
OVERLOAD_MESSAGE = "the server is busy: every database connection stayed in use; retry shortly"
