import httpx


async def test_healthz_answers_ok(client: httpx.AsyncClient) -> None:
    response = await client.get("/healthz")
    assert response.status_code == 200
    assert response.json() == {"status": "ok"}


async def test_readyz_reports_the_database_reachable(client: httpx.AsyncClient) -> None:
    response = await client.get("/readyz")
    assert response.status_code == 200
    body = response.json()
    assert body["status"] == "ready"
    database = body["dependencies"]["database"]
    assert database["up"] is True
    assert database["required"] is True
    assert database["detail"] == "ok"
    assert database["latency_ms"] >= 0
    # Embedded: no Redis, no broker to depend on.
    assert set(body["dependencies"]) == {"database"}


async def test_prometheus_says_which_dependencies_are_up(client: httpx.AsyncClient) -> None:
    body = (await client.get("/metrics")).text
    assert 'trackboard_dependency_up{dependency="database"} 1.0' in body


async def test_prometheus_counts_requests_by_route_template(client: httpx.AsyncClient) -> None:
    await client.get("/api/v1/experiments/12345")
    body = (await client.get("/metrics")).text
    assert (
        'trackboard_http_requests_total{method="GET",route="/api/v1/experiments/{experiment_id}",'
        'status="404"} 1.0'
    ) in body
    assert "trackboard_http_request_duration_seconds_bucket" in body


async def test_openapi_document_lists_the_v1_routes(client: httpx.AsyncClient) -> None:
    paths = (await client.get("/openapi.json")).json()["paths"]
    assert "/api/v1/runs/search" in paths
    assert "/api/v1/runs/{run_id}/metrics/{key}" in paths
    assert (await client.get("/docs")).status_code == 200


async def test_every_response_carries_a_request_id(client: httpx.AsyncClient) -> None:
    response = await client.get("/healthz", headers={"X-Request-ID": "abc123"})
    assert response.headers["x-request-id"] == "abc123"
