"""Answers from the read cache, marked when they are degraded.

With the database unreachable, a read the cache can answer gets its last known value
(see `backends.cache_aside`) with `Trackboard-Degraded: true` and `Age` (seconds, as
HTTP caches use it), so clients and the dashboard can tell the data may be out of date.
"""

from fastapi import Response

from trackboard.server.backends.cache_aside import Cached

DEGRADED_HEADER = "Trackboard-Degraded"


def cached_response(cached: Cached, media_type: str = "application/json") -> Response:
    response = Response(cached.body, media_type=media_type)
    if cached.stale_age_s is not None:
        response.headers[DEGRADED_HEADER] = "true"
        response.headers["Age"] = str(int(cached.stale_age_s))
    return response
