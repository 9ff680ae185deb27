"""In distributed mode a metric batch is answered 202 with its batch id, and the batch status
route tells when a worker has committed it: pending while no worker runs, committed (and
its points readable) once one has written it."""

import re
from pathlib import Path

from tests.distributed.conftest import (
    WorkerProcess,
    api_client,
    distributed_settings,
    make_runs,
)


async def test_a_queued_batch_is_pending_until_a_worker_commits_it(
    tmp_path: Path, pg_url: str, amqp_url: str, workers: list[WorkerProcess]
) -> None:
    settings = distributed_settings(tmp_path, pg_url, amqp_url)
    async with api_client(settings) as (_, client):
        (run_id,) = await make_runs(client, 1)
        columns = [{"key": "loss", "steps": [0, 1, 2], "values": [0.3, 0.2, 0.1]}]
        named = await client.post(
            f"/api/v1/runs/{run_id}/metrics", json={"batch_id": "b-1", "columns": columns}
        )
        assert named.status_code == 202, named.text
        assert named.json() == {
            "accepted": 3,
            "duplicate": False,
            "batch_id": "b-1",
            "committed": False,
        }
        columns = [{"key": "loss", "steps": [3], "values": [0.05]}]
        unnamed = await client.post(f"/api/v1/runs/{run_id}/metrics", json={"columns": columns})
        assert unnamed.status_code == 202, unnamed.text
        assigned = unnamed.json()["batch_id"]
        assert re.fullmatch(r"[0-9a-f]{32}", assigned)

        url = f"/api/v1/runs/{run_id}/batches"
        ids = {"batch_id": ["b-1", assigned]}
        before = await client.get(url, params={**ids, "wait_s": 0.3})
        assert before.json() == {"committed": [], "pending": ["b-1", assigned]}

        workers.append(WorkerProcess(pg_url, amqp_url, tmp_path))
        workers[0].start()
        after = await client.get(url, params={**ids, "wait_s": 20}, timeout=30)
        assert after.json() == {"committed": ["b-1", assigned], "pending": []}
        history = await client.get(f"/api/v1/runs/{run_id}/metrics/loss?format=columns")
        assert history.json()["steps"] == [0, 1, 2, 3]
