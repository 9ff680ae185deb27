"""The v1 routes of a run's artifacts: upload, listing, download with ranges, content
types, traversal refused, the size limit, the media index, and authorization."""

import json
import uuid
from collections.abc import AsyncIterator

import httpx
import pytest
from fastapi import FastAPI

from tests.gateway.harness import World, bearer
from trackboard.media_layout import histogram_path, image_path, image_sidecar_path, table_paths
from trackboard.server.app import create_app
from trackboard.server.config import Settings


async def _new_run(client: httpx.AsyncClient) -> str:
    experiment = await client.post("/api/v1/experiments", json={"name": uuid.uuid4().hex})
    assert experiment.status_code == 201, experiment.text
    run = await client.post(f"/api/v1/experiments/{experiment.json()['id']}/runs", json={})
    assert run.status_code == 201, run.text
    return str(run.json()["id"])


async def _put(client: httpx.AsyncClient, run: str, path: str, data: bytes) -> httpx.Response:
    return await client.put(f"/api/v1/runs/{run}/artifacts/{path}", content=data)


async def test_uploaded_files_are_listed_and_downloaded_with_their_type(
    client: httpx.AsyncClient,
) -> None:
    run = await _new_run(client)
    assert (await _put(client, run, "notes/readme.md", b"# hi")).status_code == 200
    assert (await _put(client, run, "model.bin", b"\x00" * 10)).status_code == 200
    top = (await client.get(f"/api/v1/runs/{run}/artifacts")).json()
    assert top["entries"] == [
        {"path": "model.bin", "is_dir": False, "size": 10},
        {"path": "notes", "is_dir": True, "size": None},
    ]
    everything = (await client.get(f"/api/v1/runs/{run}/artifacts?recursive=true")).json()
    assert [e["path"] for e in everything["entries"]] == ["model.bin", "notes", "notes/readme.md"]
    inner = (await client.get(f"/api/v1/runs/{run}/artifacts?path=notes")).json()
    assert inner["entries"] == [{"path": "notes/readme.md", "is_dir": False, "size": 4}]

    markdown = await client.get(f"/api/v1/runs/{run}/artifacts/notes/readme.md")
    assert markdown.content == b"# hi"
    assert markdown.headers["content-type"] == "text/markdown; charset=utf-8"
    assert "content-disposition" not in markdown.headers
    binary = await client.get(f"/api/v1/runs/{run}/artifacts/model.bin")
    assert binary.headers["content-type"] == "application/octet-stream"
    assert binary.headers["content-disposition"].startswith("attachment")


async def test_html_is_only_ever_downloaded_in_a_sandbox(client: httpx.AsyncClient) -> None:
    run = await _new_run(client)
    await _put(client, run, "page.html", b"<script>alert(1)</script>")
    page = await client.get(f"/api/v1/runs/{run}/artifacts/page.html")
    assert page.headers["content-disposition"].startswith("attachment")
    assert page.headers["content-security-policy"].startswith("sandbox")
    assert page.headers["x-content-type-options"] == "nosniff"


async def test_range_requests_get_the_part_asked_for(client: httpx.AsyncClient) -> None:
    run = await _new_run(client)
    await _put(client, run, "data.txt", bytes(range(100)))
    part = await client.get(
        f"/api/v1/runs/{run}/artifacts/data.txt", headers={"Range": "bytes=10-19"}
    )
    assert part.status_code == 206
    assert part.content == bytes(range(10, 20))
    assert part.headers["content-range"] == "bytes 10-19/100"
    past = await client.get(
        f"/api/v1/runs/{run}/artifacts/data.txt", headers={"Range": "bytes=500-"}
    )
    assert past.status_code == 416


async def test_a_repeated_upload_replaces_the_file(client: httpx.AsyncClient) -> None:
    run = await _new_run(client)
    await _put(client, run, "a.txt", b"first")
    await _put(client, run, "a.txt", b"first")
    listing = (await client.get(f"/api/v1/runs/{run}/artifacts")).json()
    assert listing["entries"] == [{"path": "a.txt", "is_dir": False, "size": 5}]


@pytest.mark.parametrize(
    "path", ["..%2F..%2Fescape.txt", "a/%2E%2E/%2E%2E/%2E%2E/escape.txt", "a%5Cb.txt", "x%23y"]
)
async def test_traversal_is_refused(client: httpx.AsyncClient, path: str) -> None:
    run = await _new_run(client)
    response = await client.put(f"/api/v1/runs/{run}/artifacts/{path}", content=b"x")
    assert response.status_code == 400, response.text
    read = await client.get(f"/api/v1/runs/{run}/artifacts/{path}")
    assert read.status_code == 400
    listing = await client.get(f"/api/v1/runs/{run}/artifacts", params={"path": "../.."})
    assert listing.status_code == 400


async def test_missing_file_and_unknown_run_are_404(client: httpx.AsyncClient) -> None:
    run = await _new_run(client)
    assert (await client.get(f"/api/v1/runs/{run}/artifacts/none.txt")).status_code == 404
    unknown = "0" * 32
    assert (await client.get(f"/api/v1/runs/{unknown}/artifacts")).status_code == 404
    assert (await _put(client, unknown, "a.txt", b"x")).status_code == 404


async def test_uploads_over_the_size_limit_are_refused(
    client: httpx.AsyncClient, app: FastAPI
) -> None:
    run = await _new_run(client)
    limit = app.state.settings.max_artifact_bytes
    declared = await client.put(
        f"/api/v1/runs/{run}/artifacts/big.bin",
        content=b"x",
        headers={"content-length": str(limit + 1)},
    )
    assert declared.status_code == 413


async def test_media_index_lists_series_in_step_order(client: httpx.AsyncClient) -> None:
    run = await _new_run(client)
    for step in (2, 0, 1):
        await _put(client, run, image_path("samples", step), b"\x89PNG")
        sidecar = {
            "key": "samples",
            "step": step,
            "file": f"{step:010d}.png",
            "caption": f"s{step}",
        }
        await _put(client, run, image_sidecar_path("samples", step), json.dumps(sidecar).encode())
        histogram = {"key": "w", "step": step, "bins": [0, 1, 2], "counts": [step, 1]}
        await _put(client, run, histogram_path("w", step), json.dumps(histogram).encode())
    # A stray file under media/ is left out, not an error.
    await _put(client, run, "media/images/samples/junk.json", b"not json")
    table_json, table_csv = table_paths("eval/preds")
    await _put(client, run, table_json, b'{"columns": ["a"], "rows": [[1]]}')
    await _put(client, run, table_csv, b"a\n1\n")
    await _put(client, run, "media/text/summary.txt", b"done")

    media = (await client.get(f"/api/v1/runs/{run}/media")).json()
    [series] = media["images"]
    assert series["key"] == "samples"
    assert [f["step"] for f in series["frames"]] == [0, 1, 2]
    assert series["frames"][1]["caption"] == "s1"
    assert series["frames"][1]["path"] == image_path("samples", 1)
    assert [s["step"] for s in media["histograms"][0]["steps"]] == [0, 1, 2]
    assert media["tables"] == [{"key": "eval/preds", "path": table_json, "csv_path": table_csv}]
    assert media["texts"] == [{"key": "summary", "path": "media/text/summary.txt"}]


async def test_a_run_without_media_has_an_empty_index(client: httpx.AsyncClient) -> None:
    run = await _new_run(client)
    media = (await client.get(f"/api/v1/runs/{run}/media")).json()
    assert media == {"images": [], "histograms": [], "tables": [], "texts": []}


async def test_artifacts_are_authorized_by_the_run(
    auth_client: httpx.AsyncClient, world: World
) -> None:
    own, foreign = world.runs["a"], world.runs["b"]
    editor, viewer = bearer(world.keys["a_editor"]), bearer(world.keys["a_viewer"])
    put = await auth_client.put(f"/api/v1/runs/{own}/artifacts/x.txt", content=b"x", headers=editor)
    assert put.status_code == 200, put.text
    read = await auth_client.get(f"/api/v1/runs/{own}/artifacts/x.txt", headers=viewer)
    assert read.content == b"x"
    refused = await auth_client.put(
        f"/api/v1/runs/{own}/artifacts/y.txt", content=b"y", headers=viewer
    )
    assert refused.status_code == 403
    for path in ("artifacts", "artifacts/x.txt", "media"):
        hidden = await auth_client.get(f"/api/v1/runs/{foreign}/{path}", headers=editor)
        assert hidden.status_code == 404, path
    anonymous = await auth_client.get(f"/api/v1/runs/{own}/artifacts")
    assert anonymous.status_code == 401


@pytest.fixture
async def small_limit_client(settings: Settings) -> AsyncIterator[httpx.AsyncClient]:
    """The app with TRACKBOARD_MAX_ARTIFACT_BYTES at 100."""
    application = create_app(settings.model_copy(update={"max_artifact_bytes": 100}))
    async with application.router.lifespan_context(application):
        transport = httpx.ASGITransport(app=application)
        async with httpx.AsyncClient(transport=transport, base_url="http://localhost") as http:
            yield http


async def test_a_chunked_upload_is_cut_off_at_the_limit_and_stores_nothing(
    small_limit_client: httpx.AsyncClient,
) -> None:
    client = small_limit_client
    run = await _new_run(client)

    async def body() -> AsyncIterator[bytes]:
        for _ in range(10):
            yield b"x" * 50

    refused = await client.put(f"/api/v1/runs/{run}/artifacts/big.bin", content=body())
    assert refused.status_code == 413
    assert (await _put(client, run, "small.bin", b"x" * 100)).status_code == 200
    listing = (await client.get(f"/api/v1/runs/{run}/artifacts")).json()
    assert listing["entries"] == [{"path": "small.bin", "is_dir": False, "size": 100}]
