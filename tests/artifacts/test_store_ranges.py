"""Both artifact stores (a folder and an S3-compatible bucket, moto's server) answer range
requests and read small files whole, as the v1 download route and the media index need."""

from collections.abc import AsyncIterator

import httpx
import pytest
from fastapi import FastAPI, Request, Response

from tests.mlflow_compat.test_artifact_stores import chunks, s3_endpoint, store
from trackboard.server.artifacts.store import ArtifactStore
from trackboard.server.errors import InvalidParameter, NotFound

__all__ = ["s3_endpoint", "store"]  # fixtures shared with the MLflow store contract

DATA = bytes(range(200))


@pytest.fixture
async def http(store: ArtifactStore) -> AsyncIterator[httpx.AsyncClient]:
    """The store behind one route that downloads as the v1 route does."""
    app = FastAPI()

    @app.get("/{path:path}")
    async def download(path: str, request: Request) -> Response:
        return await store.download(path, request.headers.get("range"))

    await store.write("1/run/artifacts/data.bin", chunks(DATA))
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://store") as client:
        yield client


async def test_a_range_gets_that_part_with_its_content_range(http: httpx.AsyncClient) -> None:
    part = await http.get("/1/run/artifacts/data.bin", headers={"Range": "bytes=5-9"})
    assert part.status_code == 206
    assert part.content == DATA[5:10]
    assert part.headers["content-range"] == "bytes 5-9/200"
    tail = await http.get("/1/run/artifacts/data.bin", headers={"Range": "bytes=-3"})
    assert tail.content == DATA[-3:]
    whole = await http.get("/1/run/artifacts/data.bin")
    assert whole.status_code == 200
    assert whole.content == DATA
    assert whole.headers["accept-ranges"] == "bytes"


async def test_a_range_past_the_end_is_416(http: httpx.AsyncClient) -> None:
    past = await http.get("/1/run/artifacts/data.bin", headers={"Range": "bytes=300-"})
    assert past.status_code == 416


async def test_small_files_are_read_whole_within_a_limit(store: ArtifactStore) -> None:
    await store.write("1/run/artifacts/a.json", chunks(b'{"a": 1}'))
    assert await store.read_bytes("1/run/artifacts/a.json", 100) == b'{"a": 1}'
    with pytest.raises(InvalidParameter, match="larger than 4 bytes"):
        await store.read_bytes("1/run/artifacts/a.json", 4)
    with pytest.raises(NotFound):
        await store.read_bytes("1/run/artifacts/missing.json", 100)
