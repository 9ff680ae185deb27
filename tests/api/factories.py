"""Small builders for API tests: create an experiment or a run and return its JSON."""

import uuid
from typing import Any

import httpx


async def make_experiment(client: httpx.AsyncClient, name: str | None = None, **body: Any) -> Any:
    response = await client.post(
        "/api/v1/experiments", json={"name": name or f"exp-{uuid.uuid4().hex[:8]}", **body}
    )
    assert response.status_code == 201, response.text
    return response.json()


async def make_run(client: httpx.AsyncClient, experiment_id: int | None = None, **body: Any) -> Any:
    if experiment_id is None:
        experiment_id = (await make_experiment(client))["id"]
    response = await client.post(f"/api/v1/experiments/{experiment_id}/runs", json=body)
    assert response.status_code == 201, response.text
    return response.json()


async def log_points(
    client: httpx.AsyncClient, run_id: str, points: list[dict[str, Any]], **body: Any
) -> Any:
    response = await client.post(f"/api/v1/runs/{run_id}/metrics", json={"metrics": points, **body})
    assert response.status_code in (200, 202), response.text
    return response.json()
