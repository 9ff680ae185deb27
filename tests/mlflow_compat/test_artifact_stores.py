"""One contract for both artifact stores: a local folder and an S3-compatible bucket.

The bucket is moto's S3 server on a free loopback port; SigV4 signatures are checked
against botocore's signer for the same request.
"""

import os
from collections.abc import AsyncIterator, Iterator
from datetime import UTC, datetime
from pathlib import Path

import anyio
import httpx
import pytest
from fastapi import FastAPI

from tests.mlflow_compat.servers import free_port
from trackboard.server.artifacts.dependencies import artifact_store_guard
from trackboard.server.artifacts.routes import router as artifacts_router
from trackboard.server.artifacts.s3_signing import EMPTY_SHA256, Credentials, sign
from trackboard.server.artifacts.s3_store import S3ArtifactStore
from trackboard.server.artifacts.store import ArtifactEntry, ArtifactStore, LocalArtifactStore
from trackboard.server.backends.dependency_guard import BreakerSettings
from trackboard.server.config import Settings
from trackboard.server.errors import InvalidParameter, NotFound


def _require_moto() -> None:
    try:
        import moto.server  # noqa: F401
    except ImportError:
        if os.environ.get("CI") == "true":
            pytest.fail("moto[server] is not installed (CI=true: nothing may be skipped)")
        pytest.skip("moto[server] is not installed")


@pytest.fixture(scope="module")
def s3_endpoint() -> Iterator[str]:
    _require_moto()
    from moto.server import ThreadedMotoServer

    port = free_port()
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    server.start()
    try:
        yield f"127.0.0.1:{port}"
    finally:
        server.stop()


@pytest.fixture(params=["local", "s3"])
async def store(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[ArtifactStore]:
    if request.param == "local":
        yield LocalArtifactStore(tmp_path / "artifacts")
        return
    endpoint = request.getfixturevalue("s3_endpoint")
    bucket = f"b{os.urandom(6).hex()}"
    async with httpx.AsyncClient() as http:
        s3 = S3ArtifactStore.from_url(f"s3+http://key:secret@{endpoint}/{bucket}/pre/fix", http)
        created = await s3._send("PUT", "")  # create the bucket (moto takes any credentials)
        assert created.status_code == 200, created.text
        yield s3


async def chunks(*parts: bytes) -> AsyncIterator[bytes]:
    for part in parts:
        yield part


async def read(store: ArtifactStore, path: str) -> bytes:
    response = await store.download(path)
    if hasattr(response, "body_iterator"):
        body = b"".join([chunk async for chunk in response.body_iterator])  # type: ignore[misc]
        if response.background is not None:
            await response.background()
        return body
    return await anyio.Path(response.path).read_bytes()  # type: ignore[attr-defined]


async def test_store_writes_lists_reads_and_deletes(store: ArtifactStore) -> None:
    await store.write("1/run/artifacts/notes.txt", chunks(b"hel", b"lo"))
    await store.write("1/run/artifacts/sub/dir/x.json", chunks(b"{}"))
    assert await store.list("1/run/artifacts") == [
        ArtifactEntry("notes.txt", False, 5),
        ArtifactEntry("sub", True, None),
    ]
    assert await store.list("1/run/artifacts/sub/dir") == [ArtifactEntry("x.json", False, 2)]
    assert await store.list("1/run/artifacts/notes.txt") == []
    assert await store.list("no/such/folder") == []
    assert await read(store, "1/run/artifacts/notes.txt") == b"hello"

    await store.write("1/run/artifacts/notes.txt", chunks(b"replaced"))
    assert await read(store, "1/run/artifacts/notes.txt") == b"replaced"

    await store.delete("1/run/artifacts/sub")
    assert await store.list("1/run/artifacts") == [ArtifactEntry("notes.txt", False, 8)]
    await store.delete("1/run/artifacts/notes.txt")
    with pytest.raises(NotFound):
        await store.download("1/run/artifacts/notes.txt")
    with pytest.raises(NotFound):
        await store.delete("1/run/artifacts/notes.txt")


async def test_store_streams_an_upload_of_declared_length(store: ArtifactStore) -> None:
    await store.write("1/run/artifacts/model.bin", chunks(b"a" * 70_000, b"b" * 30_000), 100_000)
    assert await read(store, "1/run/artifacts/model.bin") == b"a" * 70_000 + b"b" * 30_000


async def test_s3_refuses_an_upload_that_ends_before_its_declared_length(
    s3_endpoint: str,
) -> None:
    bucket = f"b{os.urandom(6).hex()}"
    async with httpx.AsyncClient() as http:
        s3 = S3ArtifactStore.from_url(f"s3+http://key:secret@{s3_endpoint}/{bucket}", http)
        assert (await s3._send("PUT", "")).status_code == 200
        with pytest.raises(InvalidParameter, match="ended at 3 of 10 bytes"):
            await s3.write("1/run/artifacts/cut.bin", chunks(b"abc"), 10)
        assert await s3.list("1/run/artifacts") == []


@pytest.mark.parametrize("path", ["../x", "a/../../x", "/etc/passwd", "a\\b", "C:/x", "a\x00b"])
async def test_store_refuses_paths_outside_it(store: ArtifactStore, path: str) -> None:
    with pytest.raises(InvalidParameter):
        await store.write(path, chunks(b"x"))
    with pytest.raises(InvalidParameter):
        await store.list(path)


def test_s3_signature_matches_botocore() -> None:
    _require_moto()  # botocore comes with moto
    from botocore.auth import S3SigV4Auth
    from botocore.awsrequest import AWSRequest
    from botocore.credentials import Credentials as BotoCredentials

    query = {"list-type": "2", "prefix": "pre/fix 1/", "delimiter": "/"}
    request = AWSRequest(
        method="GET", url="http://s3.example.com:9000/bucket", params=query, headers={}
    )
    request.headers["x-amz-content-sha256"] = EMPTY_SHA256
    S3SigV4Auth(BotoCredentials("AKID", "SECRET"), "s3", "eu-west-1").add_auth(request)
    # Sign at the same moment botocore did.
    moment = datetime.strptime(request.context["timestamp"], "%Y%m%dT%H%M%SZ").replace(tzinfo=UTC)
    ours = sign(
        Credentials("AKID", "SECRET", "eu-west-1"),
        "GET",
        "s3.example.com:9000",
        "/bucket",
        query,
        EMPTY_SHA256,
        now=moment,
    )
    assert ours["authorization"] == request.headers["Authorization"]


async def test_proxy_routes_use_the_bucket_named_by_artifacts_url(
    s3_endpoint: str, tmp_path: Path
) -> None:
    bucket = f"b{os.urandom(6).hex()}"
    url = f"s3+http://key:secret@{s3_endpoint}/{bucket}"
    async with httpx.AsyncClient() as http:
        assert (await S3ArtifactStore.from_url(url, http)._send("PUT", "")).status_code == 200
    app = FastAPI()
    # What `create_app` puts there: the settings, and the store's breaker.
    app.state.settings = Settings(home=tmp_path, artifacts_url=url)
    app.state.artifacts_guard = artifact_store_guard(BreakerSettings(), 5.0)
    app.include_router(artifacts_router)
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://t") as client:
        base = "/api/2.0/mlflow-artifacts/artifacts"
        assert (await client.put(f"{base}/1/r/artifacts/a.txt", content=b"abc")).status_code == 200
        listing = (await client.get(base, params={"path": "1/r/artifacts"})).json()
        assert listing == {"files": [{"path": "a.txt", "is_dir": False, "file_size": 3}]}
        assert (await client.get(f"{base}/1/r/artifacts/a.txt")).content == b"abc"
        assert (await client.delete(f"{base}/1/r/artifacts/a.txt")).status_code == 200
        missing = await client.get(f"{base}/1/r/artifacts/a.txt")
        assert (missing.status_code, missing.json()["error_code"]) == (
            404,
            "RESOURCE_DOES_NOT_EXIST",
        )
    assert not (tmp_path / "artifacts").exists()
