"""Events and notifications: run completion → webhook latency, and what the outbox costs.

One command (`python bench/events.py`) starts what it needs on loopback (a database and a
RabbitMQ vhost of its own, `trackboard server`, `trackboard worker`, `trackboard notifier`,
and a webhook receiver in this process), measures, stops it all and writes its section of
docs/benchmarks.md:
- event → webhook delivered: runs are finished through the API at a paced 100 per second;
  the latency of each is from the PATCH's answer (the commit) to the receiver's arrival;
- the outbox's cost on run creation: runs created by 4 concurrent clients for a few
  seconds on the same PostgreSQL, by a server that writes every event to the outbox and
  relays it to RabbitMQ, and by one without a broker and without a notifier (no outbox).
"""

import argparse
import asyncio
import contextlib
import os
import shutil
import sys
import time
import uuid
from contextlib import ExitStack
from pathlib import Path
from typing import Any

import httpx
import orjson
import psutil  # type: ignore[import-untyped]
from aiohttp import web

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.ingest import (  # noqa: E402
    AMQP,
    BIN,
    PG,
    admin,
    free_port,
    migrate,
    process,
    rabbitmqctl,
    wait_http,
)
from bench.report import median, percentile, write_section  # noqa: E402

CREATORS = 4
# Idle connections are dropped before uvicorn's 5 s keep-alive closes them: reusing one the
# server is closing that very moment fails the request (httpx.ReadError).
LIMITS = httpx.Limits(max_connections=None, max_keepalive_connections=64, keepalive_expiry=2.0)


def verdict(met: bool) -> str:
    return "met" if met else "**missed**"


class CpuMeter:
    """CPU seconds (user + system) a server process spent: divided by the operations done
    meanwhile, a cost per operation that does not depend on the machine's load."""

    def __init__(self, pid: int) -> None:
        self._process = psutil.Process(pid)

    def seconds(self) -> float:
        times = self._process.cpu_times()
        return float(times.user + times.system)


class Receiver:
    """A webhook receiver noting when each run's notification arrived."""

    def __init__(self) -> None:
        # run id -> seconds from the event (its `occurred_at`, the server's clock at the
        # change) to the notification's arrival here (same machine, same clock).
        self.latency: dict[str, float] = {}
        self.changed = asyncio.Event()

    async def handle(self, request: web.Request) -> web.Response:
        arrived = time.time()
        body = orjson.loads(await request.read())
        self.latency.setdefault(body["run_id"], arrived - body["occurred_at"] / 1000)
        self.changed.set()
        return web.Response(status=200)

    async def wait_for(self, run_ids: set[str], timeout_s: float) -> None:
        deadline = time.monotonic() + timeout_s
        while not run_ids <= self.latency.keys() and time.monotonic() < deadline:
            self.changed.clear()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self.changed.wait(), 0.5)


async def completion_latency(
    url: str, receiver: Receiver, runs: int, per_s: float, cpu: CpuMeter
) -> tuple[list[float], float, float]:
    """Finish `runs` runs, paced at `per_s`; the event → webhook latency of each, the
    completion rate the API sustained, and the server's CPU seconds per completion (its
    relay's share of publishing them included)."""
    async with httpx.AsyncClient(base_url=url, timeout=120, limits=LIMITS) as client:
        ids = []
        for _ in range(runs):
            created = await client.post("/api/v1/experiments/0/runs", json={})
            ids.append(created.json()["id"])

        async def finish(run_id: str) -> None:
            response = await client.patch(f"/api/v1/runs/{run_id}", json={"status": "FINISHED"})
            response.raise_for_status()

        cpu_start = cpu.seconds()
        start = time.monotonic()
        tasks = []
        for index, run_id in enumerate(ids):
            delay = start + index / per_s - time.monotonic()
            if delay > 0:
                await asyncio.sleep(delay)
            tasks.append(asyncio.create_task(finish(run_id)))
        await asyncio.gather(*tasks)
        sustained = runs / (time.monotonic() - start)
        await receiver.wait_for(set(ids), 60.0)
        cpu_per_op = (cpu.seconds() - cpu_start) / runs
    missing = [run_id for run_id in ids if run_id not in receiver.latency]
    if missing:
        raise RuntimeError(f"{len(missing)} notifications did not arrive")
    return [receiver.latency[run_id] for run_id in ids], sustained, cpu_per_op


async def creation_rate(url: str, seconds: float, cpu: CpuMeter) -> tuple[float, float]:
    """Runs created per second by `CREATORS` concurrent clients, and the server's CPU
    seconds per creation."""
    created = 0
    deadline = time.monotonic() + seconds

    async def creator(client: httpx.AsyncClient) -> None:
        nonlocal created
        while time.monotonic() < deadline:
            response = await client.post("/api/v1/experiments/0/runs", json={"params": {"a": "1"}})
            response.raise_for_status()
            created += 1

    async with httpx.AsyncClient(base_url=url, timeout=30, limits=LIMITS) as client:
        cpu_start = cpu.seconds()
        start = time.monotonic()
        await asyncio.gather(*(creator(client) for _ in range(CREATORS)))
        rate = created / (time.monotonic() - start)
        # The outbox server's relay is still publishing the last rows: let it finish, so
        # their cost counts.
        await asyncio.sleep(0.5)
        return rate, (cpu.seconds() - cpu_start) / created


async def with_receiver(work: Any) -> Any:
    receiver = Receiver()
    app = web.Application()
    app.router.add_post("/hook", receiver.handle)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = int(runner.addresses[0][1])
    try:
        return await work(receiver, f"http://127.0.0.1:{port}/hook")
    finally:
        await runner.cleanup()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--runs", type=int, default=1000)
    parser.add_argument("--per-s", type=float, default=100.0)
    parser.add_argument("--seconds", type=float, default=5.0)
    parser.add_argument(
        "--no-write", action="store_true", help="print the figures, leave docs/benchmarks.md"
    )
    args = parser.parse_args()
    load = os.getloadavg()[0]
    tag = uuid.uuid4().hex[:8]
    db, vhost = f"tb_bench_events_{tag}", f"tb-bench-events-{tag}"
    database_url = f"{PG}/{db}"
    logs = ROOT / ".bench" / f"events-{tag}"
    logs.mkdir(parents=True, exist_ok=True)
    asyncio.run(admin(f'CREATE DATABASE "{db}"'))
    rabbitmqctl("add_vhost", vhost)
    rabbitmqctl("set_permissions", "-p", vhost, "guest", ".*", ".*", ".*")
    trackboard = str(BIN / "trackboard")
    base_env = {
        "TRACKBOARD_DATABASE_URL": database_url,
        "TRACKBOARD_LOG_LEVEL": "WARNING",
        "TRACKBOARD_WORKER_METRICS_PORT": "0",
        "TRACKBOARD_NOTIFIER_METRICS_PORT": "0",
        "TRACKBOARD_NOTIFY_ALLOW_HTTP": "true",
        "TRACKBOARD_NOTIFY_ALLOW_PRIVATE_TARGETS": "true",
        "TRACKBOARD_HOME": str(logs),
    }
    distributed = {**base_env, "TRACKBOARD_AMQP_URL": f"{AMQP}/{vhost}"}
    no_outbox = {**base_env, "TRACKBOARD_NOTIFIER_IN_PROCESS": "false"}
    latencies: list[list[float]] = []
    sustained: list[float] = []
    completion_cpu: list[float] = []
    rates: dict[str, list[float]] = {"outbox": [], "no outbox": []}
    creation_cpu: dict[str, list[float]] = {"outbox": [], "no outbox": []}
    loads = [load]
    succeeded = False
    try:
        asyncio.run(migrate(database_url))
        port = free_port()
        url = f"http://127.0.0.1:{port}"
        with ExitStack() as stack:
            children = {
                name: stack.enter_context(process(args_, distributed, logs / f"{name}.log"))
                for name, args_ in (
                    ("server", [trackboard, "server", "--port", str(port)]),
                    ("worker", [trackboard, "worker"]),
                    ("notifier", [trackboard, "notifier"]),
                )
            }
            server_cpu = CpuMeter(children["server"].pid)
            wait_http(f"{url}/healthz", 300)

            async def measure_latency(receiver: Receiver, hook: str) -> None:
                async with httpx.AsyncClient(base_url=url) as client:
                    rule = {
                        "name": "bench",
                        "triggers": [{"type": "run.finished"}],
                        "channels": [{"type": "webhook", "url": hook}],
                    }
                    (await client.post("/api/v1/notification-rules", json=rule)).raise_for_status()
                await completion_latency(url, receiver, 50, args.per_s, server_cpu)  # warm up
                for repeat in range(args.repeats):
                    found, rate, cpu = await completion_latency(
                        url, receiver, args.runs, args.per_s, server_cpu
                    )
                    latencies.append(found)
                    sustained.append(rate)
                    completion_cpu.append(cpu)
                    loads.append(os.getloadavg()[0])
                    print(
                        f"round {repeat + 1}: {args.runs} completions paced at {args.per_s:g}/s "
                        f"(sustained {rate:.0f}/s, server CPU {cpu * 1000:.2f} ms each) → "
                        f"webhook p50 {percentile(found, 50) * 1000:.0f} ms, "
                        f"p99 {percentile(found, 99) * 1000:.0f} ms; load {loads[-1]:.1f}",
                        flush=True,
                    )

            asyncio.run(with_receiver(measure_latency))
            plain_port = free_port()
            plain_url = f"http://127.0.0.1:{plain_port}"
            plain = stack.enter_context(
                process(
                    [trackboard, "server", "--port", str(plain_port)], no_outbox, logs / "plain.log"
                )
            )
            wait_http(f"{plain_url}/healthz", 300)
            servers = {"outbox": (url, server_cpu), "no outbox": (plain_url, CpuMeter(plain.pid))}
            # Alternating rounds on one database: drift in the machine's load hits both.
            for repeat in range(args.repeats):
                for name, (target, meter) in servers.items():
                    rate, cpu = asyncio.run(creation_rate(target, args.seconds, meter))
                    rates[name].append(rate)
                    creation_cpu[name].append(cpu)
                    loads.append(os.getloadavg()[0])
                    print(
                        f"{name} round {repeat + 1}: {rate:.0f} runs/s, server CPU "
                        f"{cpu * 1000:.2f} ms each; load {loads[-1]:.1f}",
                        flush=True,
                    )
        succeeded = True
    finally:
        asyncio.run(admin(f'DROP DATABASE IF EXISTS "{db}" WITH (FORCE)'))
        rabbitmqctl("delete_vhost", vhost)
        if succeeded:
            shutil.rmtree(logs, ignore_errors=True)
        else:
            print(f"logs kept in {logs}", file=sys.stderr)
    p50 = median([percentile(found, 50) for found in latencies]) * 1000
    p99 = median([percentile(found, 99) for found in latencies]) * 1000
    with_outbox, without = median(rates["outbox"]), median(rates["no outbox"])
    cost = (1 - with_outbox / without) * 100
    cpu_outbox = median(creation_cpu["outbox"]) * 1000
    cpu_plain = median(creation_cpu["no outbox"]) * 1000
    cpu_cost = (cpu_outbox / cpu_plain - 1) * 100
    completion_ms = median(completion_cpu) * 1000
    completions = median(sustained)
    met_rate, met_cpu = verdict(completions >= 99.5), verdict(cpu_cost <= 10)
    body = f"""`python bench/events.py` — PostgreSQL + RabbitMQ on loopback, one API server, one
worker, one notifier. Medians of {args.repeats} rounds. The machine is shared with other
work: load average {min(loads):.1f} to {max(loads):.1f} (at start and after each round).
The rates and latencies depend on that load; the API server's CPU time per operation
(user + system of its process over the round, divided by the operations) much less so.

| what | figure | target |
|---|--:|--:|
| run finished → webhook, {args.runs} completions paced at {args.per_s:g}/s, p50 | {p50:.0f} ms | |
| same, p99 | {p99:.0f} ms | ≤ 2,000 ms: {verdict(p99 <= 2000)} |
| completions/s the API sustained meanwhile | {completions:.0f} | 100: {met_rate} |
| server CPU per completion (PATCH, outbox row, its relay) | {completion_ms:.2f} ms | |
| runs created/s, {CREATORS} clients, events through the outbox | {with_outbox:.0f} | |
| runs created/s, same database, no broker, no notifier, no outbox | {without:.0f} | |
| cost of the outbox on run creation (rate) | {cost:.1f} % | ≤ 10 %: {verdict(cost <= 10)} |
| server CPU per run creation, outbox / no outbox | {cpu_outbox:.2f} / {cpu_plain:.2f} ms | |
| cost of the outbox on run creation (server CPU) | {cpu_cost:.1f} % | ≤ 10 %: {met_cpu} |

The latency runs from the event's time (`occurred_at`, stamped in the transaction that
finished the run) to the receiver's arrival, on one clock: outbox row committed → the
server publishes it from memory → `trackboard.events` → the notifier's quorum queue →
delivery row → signed POST. Run creation is measured in alternating rounds on the two
servers. The server without outbox is the embedded mode on the same PostgreSQL: it has no
broker at all, so the difference also holds the distributed mode's live fan-out through
RabbitMQ, not only the outbox row and its publish.
"""
    print(body)
    if not args.no_write:
        write_section("events", body)


if __name__ == "__main__":
    main()
