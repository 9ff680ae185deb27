"""The Content-Type an artifact is served with, and whether a browser may show it inline.

Artifacts are whatever a run uploaded, served from the dashboard's own origin: a type a
browser would run (HTML, SVG, XML, JavaScript) is only ever downloaded, never shown, and
every artifact response forbids sniffing and runs in a CSP sandbox.
"""

import mimetypes
import posixpath
from urllib.parse import quote

# Types the standard table lacks or gets wrong on some systems.
_BY_EXTENSION = {
    ".md": "text/markdown",
    ".markdown": "text/markdown",
    ".yaml": "application/yaml",
    ".yml": "application/yaml",
    ".csv": "text/csv",
    ".tsv": "text/tab-separated-values",
    ".json": "application/json",
    ".jsonl": "application/x-ndjson",
    ".log": "text/plain",
    ".txt": "text/plain",
    ".png": "image/png",
    ".jpg": "image/jpeg",
    ".jpeg": "image/jpeg",
    ".gif": "image/gif",
    ".webp": "image/webp",
}
# Shown inline: images a browser decodes without running anything, and text shown as text.
INLINE_TYPES = frozenset(
    {"image/png", "image/jpeg", "image/gif", "image/webp", "application/json", "application/yaml"}
)
TEXT_TYPES = frozenset(
    {"text/plain", "text/markdown", "text/csv", "text/tab-separated-values", "application/x-ndjson"}
)
SANDBOX = "sandbox; default-src 'none'; img-src 'self'; style-src 'unsafe-inline'"


def content_type(path: str) -> str:
    extension = posixpath.splitext(path)[1].lower()
    guessed = _BY_EXTENSION.get(extension) or mimetypes.guess_type(path)[0]
    return guessed or "application/octet-stream"


def response_headers(path: str) -> dict[str, str]:
    """Content-Type, and the headers that keep an artifact from acting as a page."""
    kind = content_type(path)
    headers = {"x-content-type-options": "nosniff", "content-security-policy": SANDBOX}
    if kind in TEXT_TYPES:
        headers["content-type"] = f"{kind}; charset=utf-8"
    elif kind in INLINE_TYPES:
        headers["content-type"] = kind
    else:
        name = quote(posixpath.basename(path), safe="")
        headers["content-type"] = kind
        headers["content-disposition"] = f"attachment; filename*=UTF-8''{name}"
    return headers
