"""Serving the built dashboard: hashed assets cached for good, index.html for client routes.

The dashboard is the router's fallback (`app.router.default`), not a route: every API
route keeps its own 404/405 answers, whatever order routers are included in, and only
requests no route matched reach it. Assets are pre-compressed at build (`.br`, `.gz`
beside each file); a file without them is gzipped here once and kept in memory.
"""

import gzip
import hashlib
import mimetypes
from dataclasses import dataclass
from pathlib import Path

from fastapi import FastAPI
from starlette.datastructures import Headers
from starlette.responses import Response
from starlette.types import ASGIApp, Receive, Scope, Send

# Where `npm run build` in dashboard/ writes; shipped inside the package.
STATIC_DIR = Path(__file__).parent / "static"

# Paths that belong to the API and operations, never to the single-page app.
RESERVED_PREFIXES = ("/api", "/docs", "/redoc", "/openapi.json", "/metrics", "/healthz", "/readyz")
IMMUTABLE = "public, max-age=31536000, immutable"
REVALIDATE = "no-cache"
HASHED_DIR = "assets"
COMPRESSIBLE_TYPES = ("text/", "application/javascript", "application/json", "image/svg+xml")
MIN_COMPRESS_BYTES = 1024

NOT_BUILT_PAGE = b"""<!doctype html><meta charset="utf-8"><title>Trackboard</title>
<body style="font-family:system-ui;max-width:40rem;margin:3rem auto">
<h1>Trackboard</h1><p>The API is running, but the dashboard has not been built.
Build it with <code>make dashboard</code> (or <code>npm ci &amp;&amp; npm run build</code> in
<code>dashboard/</code>). The API's documentation is at <a href="/docs">/docs</a>.</p>
"""


def is_reserved(path: str) -> bool:
    return any(path == p or path.startswith(p + "/") for p in RESERVED_PREFIXES)


def accepted_encodings(accept_encoding: str) -> set[str]:
    """Codings the client takes (q > 0), lower-cased; `*` is not expanded."""
    accepted: set[str] = set()
    for part in accept_encoding.split(","):
        name, _, params = part.strip().partition(";")
        quality = 1.0
        for param in params.split(";"):
            key, _, value = param.strip().partition("=")
            if key == "q":
                try:
                    quality = float(value)
                except ValueError:
                    quality = 0.0
        if name and quality > 0:
            accepted.add(name.strip().lower())
    return accepted


def content_type(path: Path) -> str:
    if path.suffix in (".js", ".mjs"):
        return "text/javascript; charset=utf-8"
    guessed = mimetypes.guess_type(path.name)[0] or "application/octet-stream"
    if guessed.startswith("text/") or guessed in ("application/json", "image/svg+xml"):
        return f"{guessed}; charset=utf-8"
    return guessed


@dataclass(frozen=True)
class Variant:
    body: bytes
    encoding: str | None


@dataclass(frozen=True)
class StaticFile:
    variants: dict[str, Variant]  # "identity", "br", "gzip"
    media_type: str
    etag: str
    cache_control: str

    @property
    def compressible(self) -> bool:
        return len(self.variants) > 1 or any(
            self.media_type.startswith(t) for t in COMPRESSIBLE_TYPES
        )


def load_file(path: Path, cache_control: str) -> StaticFile:
    raw = path.read_bytes()
    media_type = content_type(path)
    variants = {"identity": Variant(raw, None)}
    for suffix, encoding in ((".br", "br"), (".gz", "gzip")):
        sibling = path.with_name(path.name + suffix)
        if sibling.is_file():
            variants[encoding] = Variant(sibling.read_bytes(), encoding)
    compressible = any(media_type.startswith(t) for t in COMPRESSIBLE_TYPES)
    if "gzip" not in variants and compressible and len(raw) >= MIN_COMPRESS_BYTES:
        variants["gzip"] = Variant(gzip.compress(raw, compresslevel=9, mtime=0), "gzip")
    etag = '"' + hashlib.blake2b(raw, digest_size=12).hexdigest() + '"'
    return StaticFile(variants, media_type, etag, cache_control)


class DashboardFiles:
    """ASGI fallback app: files of `static_dir`, else index.html, else the next app's 404."""

    def __init__(self, static_dir: Path, not_found: ASGIApp) -> None:
        self.static_dir = static_dir.resolve()
        self.not_found = not_found
        self._cache: dict[Path, tuple[int, int, StaticFile]] = {}

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if (
            scope["type"] != "http"
            or scope["method"] not in ("GET", "HEAD")
            or is_reserved(scope["path"])
        ):
            await self.not_found(scope, receive, send)
            return
        response = self.respond(scope["path"], Headers(scope=scope), scope["method"] == "HEAD")
        if response is None:
            await self.not_found(scope, receive, send)
            return
        await response(scope, receive, send)

    def resolve(self, url_path: str) -> tuple[Path, str] | None:
        """The file for a URL path and its Cache-Control, or None when it must 404."""
        relative = url_path.lstrip("/")
        if relative:
            candidate = (self.static_dir / relative).resolve()
            inside = candidate.is_relative_to(self.static_dir)
            if inside and candidate.is_file() and not candidate.name.startswith("."):
                hashed = candidate.parent == self.static_dir / HASHED_DIR
                return candidate, IMMUTABLE if hashed else REVALIDATE
            last_segment = relative.rsplit("/", 1)[-1]
            # A missing file (an old asset, a typo) must not be answered with HTML.
            if relative.startswith(HASHED_DIR + "/") or "." in last_segment:
                return None
        index = self.static_dir / "index.html"
        return (index, REVALIDATE) if index.is_file() else None

    def load(self, path: Path, cache_control: str) -> StaticFile:
        stat = path.stat()
        cached = self._cache.get(path)
        if cached and cached[0] == stat.st_mtime_ns and cached[1] == stat.st_size:
            return cached[2]
        loaded = load_file(path, cache_control)
        self._cache[path] = (stat.st_mtime_ns, stat.st_size, loaded)
        return loaded

    def respond(self, url_path: str, headers: Headers, head: bool) -> Response | None:
        if not self.static_dir.is_dir():
            if is_reserved(url_path) or "." in url_path.rsplit("/", 1)[-1]:
                return None
            return Response(
                NOT_BUILT_PAGE, media_type="text/html", headers={"Cache-Control": REVALIDATE}
            )
        resolved = self.resolve(url_path)
        if resolved is None:
            return None
        static = self.load(*resolved)
        common = {"Cache-Control": static.cache_control, "ETag": static.etag}
        if static.compressible:
            common["Vary"] = "Accept-Encoding"
        common["X-Content-Type-Options"] = "nosniff"
        if_none_match = headers.get("if-none-match", "")
        if static.etag in (tag.strip().removeprefix("W/") for tag in if_none_match.split(",")):
            return Response(status_code=304, headers=common)
        accepted = accepted_encodings(headers.get("accept-encoding", ""))
        variant = static.variants["identity"]
        for encoding in ("br", "gzip"):
            if encoding in accepted and encoding in static.variants:
                variant = static.variants[encoding]
                break
        if variant.encoding:
            common["Content-Encoding"] = variant.encoding
        common["Content-Length"] = str(len(variant.body))
        return Response(b"" if head else variant.body, media_type=static.media_type, headers=common)


def mount_dashboard(app: FastAPI, static_dir: Path) -> None:
    """Serve the dashboard built into `static_dir` for every GET no API route answers."""
    app.router.default = DashboardFiles(static_dir, app.router.default)
