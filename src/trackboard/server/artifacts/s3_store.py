"""Artifacts in an S3-compatible bucket (AWS S3, MinIO, Ceph…), named by one URL.

    s3://ACCESS_KEY:SECRET_KEY@s3.eu-west-1.amazonaws.com/bucket/prefix?region=eu-west-1
    s3+http://minio:minio123@127.0.0.1:9000/artifacts        (plain HTTP, e.g. a local MinIO)

Path-style requests signed with SigV4 over httpx; paths pass the same checks as the local
store, so no key can leave the configured prefix.
"""

import tempfile
import xml.etree.ElementTree as ElementTree
from collections.abc import AsyncIterator
from typing import IO
from urllib.parse import parse_qs, unquote, urlsplit

import httpx
from fastapi import Response
from fastapi.responses import StreamingResponse
from starlette.background import BackgroundTask

from trackboard.server.artifacts.s3_signing import (
    EMPTY_SHA256,
    UNSIGNED_PAYLOAD,
    Credentials,
    encode_path,
    sign,
)
from trackboard.server.artifacts.store import ArtifactEntry, check_relative_path
from trackboard.server.backends.dependency_guard import DependencyGuard
from trackboard.server.errors import InvalidParameter, NotFound, Unavailable

_SPOOL_BYTES = 8 * 1024 * 1024
_READ_BYTES = 1024 * 1024


def _local_name(tag: str) -> str:
    return tag.rsplit("}", 1)[-1]


def _children(element: ElementTree.Element, name: str) -> list[ElementTree.Element]:
    return [child for child in element if _local_name(child.tag) == name]


def _text(element: ElementTree.Element, name: str) -> str:
    found = _children(element, name)
    return (found[0].text or "") if found else ""


async def _file_chunks(file: IO[bytes]) -> AsyncIterator[bytes]:
    while chunk := file.read(_READ_BYTES):
        yield chunk


async def _exactly(chunks: AsyncIterator[bytes], length: int) -> AsyncIterator[bytes]:
    """`chunks`, refused unless they add up to `length` bytes (what S3 was told)."""
    sent = 0
    async for chunk in chunks:
        sent += len(chunk)
        if sent > length:
            raise InvalidParameter(f"the upload is longer than its Content-Length ({length})")
        yield chunk
    if sent < length:
        raise InvalidParameter(f"the upload ended at {sent} of {length} bytes")


class S3ArtifactStore:
    """Artifacts as objects under `prefix` in `bucket` at `endpoint`."""

    def __init__(
        self,
        endpoint: str,
        bucket: str,
        prefix: str,
        credentials: Credentials,
        http: httpx.AsyncClient,
        guard: DependencyGuard | None = None,
    ) -> None:
        self.endpoint = endpoint.rstrip("/")
        self.host = urlsplit(self.endpoint).netloc
        self.bucket = bucket
        self.prefix = prefix.strip("/")
        self.credentials = credentials
        self.http = http
        # The store's breaker, shared by every request of the server (see app.py).
        self.guard = guard

    @classmethod
    def from_url(
        cls, url: str, http: httpx.AsyncClient, guard: DependencyGuard | None = None
    ) -> "S3ArtifactStore":
        parts = urlsplit(url)
        if parts.scheme not in ("s3", "s3+https", "s3+http"):
            raise ValueError(f"not an S3 URL: {parts.scheme}://…")
        bucket, _, prefix = parts.path.lstrip("/").partition("/")
        if not parts.hostname or not bucket:
            raise ValueError("an S3 URL needs a host and a bucket: s3://KEY:SECRET@host/bucket")
        region = parse_qs(parts.query).get("region", ["us-east-1"])[0]
        credentials = Credentials(
            unquote(parts.username or ""), unquote(parts.password or ""), region
        )
        scheme = "http" if parts.scheme == "s3+http" else "https"
        netloc = parts.hostname + (f":{parts.port}" if parts.port else "")
        return cls(f"{scheme}://{netloc}", bucket, prefix, credentials, http, guard)

    def _key(self, path: str) -> str:
        relative = check_relative_path(path)
        return "/".join(part for part in (self.prefix, relative) if part)

    async def _send(
        self,
        method: str,
        key: str,
        *,
        query: dict[str, str] | None = None,
        content: AsyncIterator[bytes] | None = None,
        length: int | None = None,
        stream: bool = False,
        headers: dict[str, str] | None = None,
    ) -> httpx.Response:
        path = encode_path(f"/{self.bucket}/{key}" if key else f"/{self.bucket}")
        query = query or {}
        payload = UNSIGNED_PAYLOAD if content is not None else EMPTY_SHA256
        signed = sign(self.credentials, method, self.host, path, query, payload)
        headers = {**(headers or {}), **signed}
        if length is not None:
            headers["content-length"] = str(length)
        request = self.http.build_request(
            method, self.endpoint + path, params=query or None, headers=headers, content=content
        )
        if self.guard is not None:
            self.guard.admit()  # refused at once (503) while the store's breaker is open
        try:
            response = await self.http.send(request, stream=stream)
        except httpx.HTTPError as exc:
            self._record(exc)
            raise Unavailable(f"the artifact store is unreachable: {exc}") from exc
        except BaseException as exc:
            self._record(exc)
            raise
        if response.status_code >= 500 or response.status_code in (401, 403):
            text = (await response.aread()).decode(errors="replace")[:300]
            await response.aclose()
            failure = Unavailable(f"the artifact store answered {response.status_code}: {text}")
            self._record(failure)
            raise failure
        self._record(None)
        return response

    def _record(self, error: BaseException | None) -> None:
        if self.guard is not None:
            self.guard.record(error)

    async def write(
        self, path: str, chunks: AsyncIterator[bytes], length: int | None = None
    ) -> None:
        key = self._key(path)
        if not check_relative_path(path):
            raise InvalidParameter("an artifact needs a file path")
        if length is not None:
            # S3 wants the length up front; a declared one lets the upload stream through.
            content = _exactly(chunks, length)
            response = await self._send("PUT", key, content=content, length=length)
        else:
            # Without one, spool the upload (in memory while small, else on disk).
            with tempfile.SpooledTemporaryFile(max_size=_SPOOL_BYTES) as spool:
                async for chunk in chunks:
                    spool.write(chunk)
                size = spool.tell()
                spool.seek(0)
                response = await self._send("PUT", key, content=_file_chunks(spool), length=size)
        if response.status_code != 200:
            raise InvalidParameter(f"the artifact store refused {path!r}: {response.text[:300]}")

    async def download(self, path: str, range_header: str | None = None) -> Response:
        """S3 answers `Range` itself; its 206 or 416 is passed on with its headers."""
        extra = {"range": range_header} if range_header else None
        response = await self._send("GET", self._key(path), stream=True, headers=extra)
        if response.status_code == 416:
            await response.aclose()
            size = response.headers.get("content-range", "bytes */*")
            return Response(status_code=416, headers={"content-range": size})
        if response.status_code not in (200, 206):
            await response.aclose()
            raise NotFound(f"Artifact '{path}' does not exist")
        headers = {"accept-ranges": "bytes"}
        for name in ("content-length", "content-range"):
            if name in response.headers:
                headers[name] = response.headers[name]
        return StreamingResponse(
            response.aiter_bytes(),
            status_code=response.status_code,
            media_type="application/octet-stream",
            headers=headers,
            background=BackgroundTask(response.aclose),
        )

    async def read_bytes(self, path: str, limit: int) -> bytes:
        response = await self._send("GET", self._key(path), stream=True)
        try:
            if response.status_code != 200:
                raise NotFound(f"Artifact '{path}' does not exist")
            data = bytearray()
            async for chunk in response.aiter_bytes():
                data += chunk
                if len(data) > limit:
                    raise InvalidParameter(f"{path!r} is larger than {limit} bytes")
            return bytes(data)
        finally:
            await response.aclose()

    async def _pages(
        self, prefix: str, delimiter: str | None
    ) -> AsyncIterator[ElementTree.Element]:
        token: str | None = None
        while True:
            query = {"list-type": "2", "prefix": prefix}
            if delimiter:
                query["delimiter"] = delimiter
            if token:
                query["continuation-token"] = token
            response = await self._send("GET", "", query=query)
            if response.status_code != 200:
                raise NotFound(f"the artifact bucket {self.bucket!r} cannot be listed")
            page = ElementTree.fromstring(response.content)
            yield page
            if _text(page, "IsTruncated") != "true":
                return
            token = _text(page, "NextContinuationToken")

    async def list(self, path: str) -> list[ArtifactEntry]:
        """A folder's direct entries; empty for a file or a missing path (as MLflow)."""
        key = self._key(path)
        prefix = f"{key}/" if key else ""
        entries: dict[str, ArtifactEntry] = {}
        async for page in self._pages(prefix, "/"):
            for common in _children(page, "CommonPrefixes"):
                name = _text(common, "Prefix")[len(prefix) :].rstrip("/")
                if name:
                    entries[name] = ArtifactEntry(name, True, None)
            for item in _children(page, "Contents"):
                name = _text(item, "Key")[len(prefix) :]
                if name:
                    entries[name] = ArtifactEntry(name, False, int(_text(item, "Size") or 0))
        return [entries[name] for name in sorted(entries)]

    async def delete(self, path: str) -> None:
        key = self._key(path)
        if not key or key == self.prefix:
            raise InvalidParameter("refusing to delete the artifact root")
        keys = []
        async for page in self._pages(f"{key}/", None):
            keys += [_text(item, "Key") for item in _children(page, "Contents")]
        head = await self._send("HEAD", key)
        if head.status_code == 200:
            keys.append(key)
        if not keys:
            raise NotFound(f"Artifact '{path}' does not exist")
        for each in keys:
            await self._send("DELETE", each)
