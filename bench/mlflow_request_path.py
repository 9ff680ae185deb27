"""CPU of one MLflow `log-metric` call inside the server, without HTTP: hot router or not.

    python bench/mlflow_request_path.py [--rounds 7] [--calls 2000] [--callers 4]

The embedded app (SQLite, in a temporary home) is driven directly through ASGI by
`--callers` concurrent callers, no socket and no HTTP client, and the process's CPU time
(user + system) per call is measured for: `GET /healthz`; `log-metric` through FastAPI's
route search past every earlier router (the hot router taken out); `log-metric` through the
MLflow hot router that the app includes first (`mlflow_compat.routes.hot_router`). Each
with the ingest write replaced by an immediate "stored" (the request path alone) and with
the real group-commit write; and the ingest writer alone (`write_messages` of --callers
one-point batches, what one group commit of as many calls does). Variants take turns within
each round, so they share whatever else loads the machine; the report gives medians over
the rounds. Writes docs/benchmarks-mlflow-request-path.md.
"""

import argparse
import asyncio
import datetime
import itertools
import os
import resource
import statistics
import sys
import tempfile
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import httpx
import numpy as np
import orjson
from fastapi import FastAPI
from starlette.types import Message

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.report import machine  # noqa: E402
from trackboard.server.app import create_app  # noqa: E402
from trackboard.server.config import Settings  # noqa: E402
from trackboard.server.metrics.ingest.message import IngestMessage  # noqa: E402
from trackboard.server.metrics.ingest.stored_events import ExperimentProjects  # noqa: E402
from trackboard.server.metrics.ingest.writer import Outcome, write_messages  # noqa: E402
from trackboard.server.metrics.points import Points  # noqa: E402
from trackboard.server.metrics.service import find_run  # noqa: E402
from trackboard.server.mlflow_compat.routes import hot_router  # noqa: E402

REPORT = ROOT / "docs" / "benchmarks-mlflow-request-path.md"
WRITE_ALONE = "ingest write alone, per call (one write of --callers one-point batches)"
LOG_METRIC = "/api/2.0/mlflow/runs/log-metric"


def cpu_seconds() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


async def call(app: FastAPI, method: str, path: str, body: bytes) -> None:
    """One request straight into the ASGI app; it must answer 200."""
    pending: list[Message] = [{"type": "http.request", "body": body, "more_body": False}]
    status: list[int] = []

    async def receive() -> Message:
        return pending.pop() if pending else {"type": "http.disconnect"}

    async def send(message: Message) -> None:
        if message["type"] == "http.response.start":
            status.append(message["status"])

    headers = [(b"host", b"localhost"), (b"content-length", str(len(body)).encode())]
    if body:
        headers.append((b"content-type", b"application/json"))
    scope = {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": method,
        "scheme": "http",
        "path": path,
        "raw_path": path.encode(),
        "query_string": b"",
        "root_path": "",
        "headers": headers,
        "client": ("127.0.0.1", 50000),
        "server": ("127.0.0.1", 80),
        "state": {},
    }
    await app(scope, receive, send)
    if status != [200]:
        raise RuntimeError(f"{method} {path} answered {status}")


async def create_run(app: FastAPI) -> str:
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://localhost") as http:
        api = "/api/2.0/mlflow"
        created = await http.post(f"{api}/experiments/create", json={"name": "bench"})
        experiment_id = created.raise_for_status().json()["experiment_id"]
        started = await http.post(
            f"{api}/runs/create", json={"experiment_id": experiment_id, "start_time": 1}
        )
        return str(started.raise_for_status().json()["run"]["info"]["run_id"])


async def cpu_per_call(callers: int, calls: int, one: Callable[[], Awaitable[None]]) -> float:
    """ms of process CPU per call, `calls` calls split over `callers` concurrent callers."""
    each = calls // callers

    async def caller() -> None:
        for _ in range(each):
            await one()

    before = cpu_seconds()
    await asyncio.gather(*(caller() for _ in range(callers)))
    return 1000 * (cpu_seconds() - before) / (each * callers)


async def measure(args: argparse.Namespace) -> dict[str, list[float]]:
    figures: dict[str, list[float]] = {}
    with tempfile.TemporaryDirectory(prefix="tb-bench-request-path-") as home:
        app = create_app(Settings(home=Path(home), log_json=False, log_level="WARNING"))
        async with app.router.lifespan_context(app):
            run_id = await create_run(app)
            with_hot = list(app.router.routes)
            # The app's routes without the hot router: log-metric found by FastAPI's search.
            search = [r for r in with_hot if getattr(r, "original_router", None) is not hot_router]
            assert len(search) == len(with_hot) - 1
            ingestor = app.state.ingestor
            write = ingestor.publish_and_wait
            steps = itertools.count()

            async def stored(message: IngestMessage) -> Outcome:
                return Outcome(True)

            async def log_metric() -> None:
                body = {"run_id": run_id, "key": "loss", "value": 0.5, "timestamp": 1}
                await call(app, "POST", LOG_METRIC, orjson.dumps({**body, "step": next(steps)}))

            async def healthz() -> None:
                await call(app, "GET", "/healthz", b"")

            variants = [
                ("GET /healthz", with_hot, stored, healthz),
                ("log-metric, route search, write stubbed", search, stored, log_metric),
                ("log-metric, hot router, write stubbed", with_hot, stored, log_metric),
                ("log-metric, route search", search, write, log_metric),
                ("log-metric, hot router", with_hot, write, log_metric),
            ]
            run = await find_run(ingestor, app.state.database, run_id)
            projects = ExperimentProjects()

            async def write_batches() -> None:
                """What the group-commit writer does for `callers` one-point calls: one
                write of as many batches, its `metrics.stored` event included."""
                messages = []
                for _ in range(args.callers):
                    step = np.array([next(steps)], dtype=np.int64)
                    points = Points(step, np.ones(1, np.int64), np.full(1, 0.5))
                    batch_id = f"bench-{step[0]}"
                    messages.append(
                        IngestMessage(run.id, run.experiment_id, batch_id, {"loss": points}, 0)
                    )
                await write_messages(app.state.database, messages, projects)

            for _ in range(args.rounds):
                for name, routes, publish, one in variants:
                    app.router.routes[:] = routes
                    ingestor.publish_and_wait = publish
                    figure = await cpu_per_call(args.callers, args.calls, one)
                    figures.setdefault(name, []).append(figure)
                writes = args.calls // args.callers
                figure = await cpu_per_call(1, writes, write_batches) / args.callers
                figures.setdefault(WRITE_ALONE, []).append(figure)
            app.router.routes[:] = with_hot
            ingestor.publish_and_wait = write
    return figures


def write_report(args: argparse.Namespace, figures: dict[str, list[float]], load: Any) -> str:
    rows = "\n".join(
        f"| {name} | {statistics.median(values):.3f} | {min(values):.3f} | {max(values):.3f} |"
        for name, values in figures.items()
    )
    when = datetime.datetime.now(datetime.UTC).strftime("%Y-%m-%d %H:%M UTC")
    text = (
        "# MLflow log-metric inside the server: CPU per call\n\n"
        f"Written by `python bench/mlflow_request_path.py --rounds {args.rounds} "
        f"--calls {args.calls} --callers {args.callers}`.\n"
        f"Measured {when} on {machine()} (1-minute load average at the start "
        f"{load[0]:.1f}, at the end {load[1]:.1f}). The embedded app driven through ASGI "
        f"by {args.callers} concurrent callers, no HTTP; process CPU (user + system) per "
        f"call, {args.calls} calls a variant a round, variants in turn, {args.rounds} "
        'rounds. "Route search" is FastAPI\'s router with the MLflow hot router taken out '
        "(log-metric found after every earlier route); "
        '"write stubbed" answers the ingest publish with "stored" at once, so the figure '
        "is the request path alone (middleware, routing, authorization, parsing, the run "
        "check, the message). The last row is the writer alone: one `write_messages` of "
        f"{args.callers} one-point batches with its `metrics.stored` event, as one group "
        f"commit of {args.callers} calls, divided by {args.callers}.\n\n"
        "| variant | median ms/call | min | max |\n|---|---:|---:|---:|\n"
        f"{rows}\n"
    )
    REPORT.write_text(text)
    return text


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=7)
    parser.add_argument("--calls", type=int, default=2000)
    parser.add_argument("--callers", type=int, default=4)
    args = parser.parse_args()
    start = os.getloadavg()[0]
    figures = asyncio.run(measure(args))
    print(write_report(args, figures, (start, os.getloadavg()[0])))


if __name__ == "__main__":
    main()
