"""The dashboard's files: SPA fallback, caching headers, pre-compressed variants."""

import gzip
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest
from fastapi import FastAPI

from trackboard.server.dashboard.static_files import (
    IMMUTABLE,
    accepted_encodings,
    is_reserved,
    mount_dashboard,
)
from trackboard.server.gateway.error_handlers import install_error_handlers

INDEX = b"<!doctype html><title>Trackboard</title><div id=root></div>"
APP_JS = b"console.log('trackboard');" * 100


@pytest.fixture
def static_dir(tmp_path: Path) -> Path:
    root = tmp_path / "static"
    (root / "assets").mkdir(parents=True)
    (root / "index.html").write_bytes(INDEX)
    (root / "favicon.svg").write_bytes(b"<svg xmlns='http://www.w3.org/2000/svg'/>")
    (root / "assets" / "index-AbC123.js").write_bytes(APP_JS)
    (root / "assets" / "index-AbC123.js.gz").write_bytes(gzip.compress(APP_JS))
    (root / "assets" / "index-AbC123.js.br").write_bytes(b"brotli-bytes")
    (root / "assets" / "style-Zz9.css").write_bytes(b"body{color:red}" * 200)
    (tmp_path / "secret.txt").write_text("outside")
    return root


def make_app(static_dir: Path) -> FastAPI:
    app = FastAPI()
    install_error_handlers(app)

    @app.get("/api/v1/ping")
    async def ping() -> dict[str, bool]:
        return {"ok": True}

    mount_dashboard(app, static_dir)

    # A router included after the dashboard still answers: the dashboard is no route.
    @app.get("/healthz")
    async def healthz() -> dict[str, str]:
        return {"status": "ok"}

    return app


@pytest.fixture
async def client(static_dir: Path) -> AsyncIterator[httpx.AsyncClient]:
    transport = httpx.ASGITransport(app=make_app(static_dir))
    async with httpx.AsyncClient(transport=transport, base_url="http://test") as c:
        yield c


@pytest.mark.parametrize(
    "path", ["/", "/experiments/1", "/runs/3f2a9c", "/compare?runs=a,b&x=time", "/experiments"]
)
async def test_client_routes_get_index_html_revalidated(
    client: httpx.AsyncClient, path: str
) -> None:
    response = await client.get(path)
    assert response.status_code == 200
    assert response.content == INDEX
    assert response.headers["cache-control"] == "no-cache"
    assert response.headers["content-type"].startswith("text/html")


@pytest.mark.parametrize(
    "path", ["/api/v1/nope", "/api", "/metrics", "/readyz", "/docs/extra", "/openapi.json/x"]
)
async def test_reserved_paths_never_fall_back_to_index(
    client: httpx.AsyncClient, path: str
) -> None:
    response = await client.get(path)
    assert response.status_code == 404
    assert response.json()["error"]["code"] == "ENDPOINT_NOT_FOUND"


async def test_api_routes_and_docs_keep_answering(client: httpx.AsyncClient) -> None:
    assert (await client.get("/api/v1/ping")).json() == {"ok": True}
    assert (await client.get("/healthz")).json() == {"status": "ok"}
    assert (await client.get("/openapi.json")).json()["openapi"].startswith("3.")
    assert "swagger" in (await client.get("/docs")).text.lower()


async def test_wrong_method_on_an_api_route_is_still_405(client: httpx.AsyncClient) -> None:
    assert (await client.post("/api/v1/ping")).status_code == 405


async def test_hashed_asset_is_immutable_and_brotli_when_accepted(
    client: httpx.AsyncClient,
) -> None:
    response = await client.get("/assets/index-AbC123.js", headers={"Accept-Encoding": "gzip, br"})
    assert response.status_code == 200
    assert response.headers["cache-control"] == IMMUTABLE
    assert response.headers["content-encoding"] == "br"
    assert response.headers["vary"] == "Accept-Encoding"
    assert response.headers["content-type"].startswith("text/javascript")
    assert response.headers["content-length"] == str(len(b"brotli-bytes"))


async def test_gzip_variant_when_brotli_is_not_accepted(client: httpx.AsyncClient) -> None:
    response = await client.get("/assets/index-AbC123.js", headers={"Accept-Encoding": "gzip"})
    assert response.headers["content-encoding"] == "gzip"
    assert response.content == APP_JS  # httpx decodes it


async def test_identity_when_no_encoding_is_accepted(client: httpx.AsyncClient) -> None:
    response = await client.get(
        "/assets/index-AbC123.js", headers={"Accept-Encoding": "identity, br;q=0"}
    )
    assert "content-encoding" not in response.headers
    assert response.content == APP_JS


async def test_file_without_precompressed_variant_is_gzipped_here(
    client: httpx.AsyncClient,
) -> None:
    response = await client.get("/assets/style-Zz9.css", headers={"Accept-Encoding": "gzip"})
    assert response.headers["content-encoding"] == "gzip"
    assert response.content == b"body{color:red}" * 200


async def test_missing_asset_is_404_not_html(client: httpx.AsyncClient) -> None:
    assert (await client.get("/assets/index-old999.js")).status_code == 404
    assert (await client.get("/favicon.ico")).status_code == 404


async def test_unhashed_file_is_served_revalidated(client: httpx.AsyncClient) -> None:
    response = await client.get("/favicon.svg")
    assert response.status_code == 200
    assert response.headers["cache-control"] == "no-cache"
    assert response.headers["content-type"].startswith("image/svg+xml")


async def test_etag_answers_304(client: httpx.AsyncClient) -> None:
    first = await client.get("/")
    again = await client.get("/", headers={"If-None-Match": first.headers["etag"]})
    assert again.status_code == 304
    assert again.content == b""


async def test_head_sends_headers_only(client: httpx.AsyncClient) -> None:
    response = await client.head("/assets/index-AbC123.js")
    assert response.status_code == 200
    assert response.content == b""
    assert int(response.headers["content-length"]) > 0


async def test_paths_outside_the_static_dir_are_not_served(client: httpx.AsyncClient) -> None:
    response = await client.get("/%2e%2e/secret.txt")
    assert b"outside" not in response.content


async def test_an_unbuilt_dashboard_explains_how_to_build_it(tmp_path: Path) -> None:
    transport = httpx.ASGITransport(app=make_app(tmp_path / "missing"))
    async with httpx.AsyncClient(transport=transport, base_url="http://test") as c:
        response = await c.get("/experiments/1")
        assert response.status_code == 200
        assert b"make dashboard" in response.content
        assert (await c.get("/api/v1/nope")).status_code == 404


def test_accept_encoding_parsing_honours_zero_quality() -> None:
    assert accepted_encodings("gzip;q=0.5, br;q=0, deflate") == {"gzip", "deflate"}
    assert accepted_encodings("") == set()


def test_reserved_paths_match_whole_segments() -> None:
    assert is_reserved("/api/v1/runs")
    assert is_reserved("/metrics")
    assert not is_reserved("/metrics-page")
    assert not is_reserved("/apis")
