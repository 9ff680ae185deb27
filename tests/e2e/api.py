"""Creating test data through the REST API."""

import math
from typing import Any

import httpx


def wire(value: float) -> float | str:
    if math.isnan(value):
        return "NaN"
    if math.isinf(value):
        return "Infinity" if value > 0 else "-Infinity"
    return value


class Api:
    def __init__(self, client: httpx.AsyncClient) -> None:
        self.client = client

    def _ok(self, response: httpx.Response) -> Any:
        response.raise_for_status()
        return response.json() if response.content else None

    async def experiment(self, name: str) -> int:
        experiment_id: int = self._ok(await self.client.post("/experiments", json={"name": name}))[
            "id"
        ]
        return experiment_id

    async def run(self, experiment_id: int, name: str, params: dict[str, str] | None = None) -> str:
        body = {"name": name, "params": params or {}}
        run_id: str = self._ok(
            await self.client.post(f"/experiments/{experiment_id}/runs", json=body)
        )["id"]
        return run_id

    async def log(self, run_id: str, key: str, steps: list[int], values: list[float]) -> None:
        column = {"key": key, "steps": steps, "values": [wire(v) for v in values]}
        self._ok(await self.client.post(f"/runs/{run_id}/metrics", json={"columns": [column]}))

    async def finish(self, run_id: str, status: str = "FINISHED") -> None:
        self._ok(await self.client.patch(f"/runs/{run_id}", json={"status": status}))
