"""The server's first words: where the dashboard is, where the data goes, which mode, auth."""

from urllib.parse import urlsplit

from trackboard._version import __version__
from trackboard.server.config import Settings


def without_secrets(url: str) -> str:
    """`scheme://host[:port]/path` of a URL: no user name, no password."""
    parts = urlsplit(url)
    host = parts.hostname or ""
    port = f":{parts.port}" if parts.port else ""
    return f"{parts.scheme}://{host}{port}{parts.path}"


def banner(settings: Settings) -> str:
    """Two plain lines, printed before the JSON logs begin."""
    host = "127.0.0.1" if settings.host in ("0.0.0.0", "::") else settings.host
    first = f"Trackboard {__version__}: dashboard at http://{host}:{settings.port}/"
    if settings.is_embedded:
        store = settings.resolved_database_url().removeprefix("sqlite+aiosqlite:///")
        mode = f"embedded mode, data in {store}"
    else:
        parts = [f"database {without_secrets(settings.resolved_database_url())}"]
        if settings.amqp_url:
            parts.append(f"RabbitMQ {without_secrets(settings.amqp_url)}")
        if settings.redis_url:
            parts.append(f"Redis {without_secrets(settings.redis_url)}")
        mode = "distributed mode: " + ", ".join(parts)
    auth = "authentication on" if settings.auth else "authentication off (open single-user mode)"
    return f"{first}\n  {mode}; {auth}"
