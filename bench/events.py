"""Events and notifications: run completion → webhook latency, and what the outbox costs.

One command (`python bench/events.py`) starts what it needs on loopback (a database and a
RabbitMQ vhost of its own, `trackboard server`, `trackboard worker`, `trackboard notifier`,
and a webhook receiver in this process), measures, stops it all and writes its section of
docs/benchmarks.md:
- event → webhook delivered: runs are finished through the API at a paced 100 per second
  (and at a second, slower pace), at most 16 requests in flight; the latency of each is
  from the event's time (stamped in the transaction that finished the run) to the
  receiver's arrival, split at the notifier's recording of the delivery;
- the ceiling of this process (the paced client and the webhook receiver share its loop):
  its CPU time per completion, so that it is known not to be the bottleneck;
- the outbox's cost on run creation: runs created by 4 concurrent clients for a few
  seconds on the same PostgreSQL and RabbitMQ by two servers of the distributed mode, one
  as shipped and one started by this file with the outbox off (`--serve-without-outbox`:
  no `event_outbox` row, no relay; live fan-out and everything else as shipped); with
  `--before CHECKOUT`, a third server running that checkout's code (outbox on) takes part
  in the same alternating rounds: a change's before and after in one run.
The servers run the code of the checkout this file is in (its `src` first on PYTHONPATH).
"""

import argparse
import asyncio
import contextlib
import os
import shutil
import subprocess
import sys
import time
import uuid
from contextlib import ExitStack
from pathlib import Path
from typing import Any

import aiohttp
import asyncpg
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
# Completions in flight at once, at most: fewer than the server's database connections.
MAX_IN_FLIGHT = 16
# Idle connections are dropped before uvicorn's 5 s keep-alive closes them: reusing one the
# server is closing that very moment fails the request.
KEEPALIVE_S = 2.0
# The uncounted run-creation round each server gets before the counted ones.
WARM_UP_S = 2.0


def api_client(url: str, timeout_s: float) -> aiohttp.ClientSession:
    """The paced client's HTTP session. aiohttp, not httpx: this process shares the cores
    with the stack it measures, and with httpx it spent 2.4 to 2.7 ms of CPU per completion
    (client and webhook receiver), with aiohttp 1.2 ms."""
    return aiohttp.ClientSession(
        base_url=url,
        timeout=aiohttp.ClientTimeout(total=timeout_s),
        connector=aiohttp.TCPConnector(limit=0, keepalive_timeout=KEEPALIVE_S),
    )


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


class Round:
    """What one paced round of completions measured."""

    def __init__(self, per_s: float) -> None:
        self.per_s = per_s
        # Seconds from the event to the webhook's arrival, per run.
        self.latency: list[float] = []
        # The same split where the notifier recorded the delivery: event → recorded (the
        # server's relay, RabbitMQ, the notifier's consumer), recorded → arrived (sending).
        self.to_recorded: list[float] = []
        self.to_arrived: list[float] = []
        self.sustained = 0.0
        self.server_cpu = 0.0
        # CPU seconds of the notifier per notification (consume, record, send, mark sent).
        self.notifier_cpu = 0.0
        # CPU seconds of this process (paced client and receiver) per completion.
        self.bench_cpu = 0.0


async def recorded_at(database_url: str, run_ids: list[str]) -> list[float]:
    """Seconds from each run's event to the notifier's recording of its delivery (the
    delivery row's `created_at`, the notifier's clock: the same machine's)."""
    connection = await asyncpg.connect(database_url)
    try:
        rows = await connection.fetch(
            "SELECT payload::json->>'run_id' AS run_id, "
            "created_at - (payload::json->>'occurred_at')::bigint AS lag "
            "FROM notification_deliveries WHERE payload::json->>'run_id' = ANY($1::text[])",
            run_ids,
        )
    finally:
        await connection.close()
    lag = {row["run_id"]: row["lag"] / 1000 for row in rows}
    return [lag[run_id] for run_id in run_ids]


async def completion_latency(
    url: str,
    receiver: Receiver,
    runs: int,
    per_s: float,
    cpu: CpuMeter,
    notifier: CpuMeter,
    database_url: str,
) -> Round:
    """Finish `runs` runs, paced at `per_s`: the event → webhook latency of each, the
    completion rate the API sustained, the server's CPU seconds per completion (its relay's
    share of publishing them included), and this process's."""
    found = Round(per_s)
    own = CpuMeter(os.getpid())
    in_flight = asyncio.Semaphore(MAX_IN_FLIGHT)
    async with api_client(url, 120) as client:
        ids = []
        for _ in range(runs):
            async with client.post("/api/v1/experiments/0/runs", json={}) as created:
                created.raise_for_status()
                ids.append((await created.json())["id"])

        async def finish(run_id: str) -> None:
            # Requests wait here, not in the server: past its database pool (20) they would
            # queue there until the pool's timeout fails them. The latency is counted from
            # the event, stamped in the PATCH's transaction, so waiting here is not in it.
            async with (
                in_flight,
                client.patch(f"/api/v1/runs/{run_id}", json={"status": "FINISHED"}) as response,
            ):
                response.raise_for_status()
                await response.read()

        cpu_start, own_start, notifier_start = cpu.seconds(), own.seconds(), notifier.seconds()
        start = time.monotonic()
        tasks = []
        for index, run_id in enumerate(ids):
            delay = start + index / per_s - time.monotonic()
            if delay > 0:
                await asyncio.sleep(delay)
            tasks.append(asyncio.create_task(finish(run_id)))
        await asyncio.gather(*tasks)
        found.sustained = runs / (time.monotonic() - start)
        await receiver.wait_for(set(ids), 60.0)
        found.server_cpu = (cpu.seconds() - cpu_start) / runs
        found.bench_cpu = (own.seconds() - own_start) / runs
        found.notifier_cpu = (notifier.seconds() - notifier_start) / runs
    missing = [run_id for run_id in ids if run_id not in receiver.latency]
    if missing:
        raise RuntimeError(f"{len(missing)} notifications did not arrive")
    found.latency = [receiver.latency[run_id] for run_id in ids]
    found.to_recorded = await recorded_at(database_url, ids)
    found.to_arrived = [
        total - recorded for total, recorded in zip(found.latency, found.to_recorded, strict=True)
    ]
    return found


async def creation_rate(url: str, seconds: float, cpu: CpuMeter) -> tuple[float, float]:
    """Runs created per second by `CREATORS` concurrent clients, and the server's CPU
    seconds per creation."""
    created = 0
    deadline = time.monotonic() + seconds

    async def creator(client: aiohttp.ClientSession) -> None:
        nonlocal created
        while time.monotonic() < deadline:
            body = {"params": {"a": "1"}}
            async with client.post("/api/v1/experiments/0/runs", json=body) as response:
                response.raise_for_status()
                await response.read()
            created += 1

    async with api_client(url, 30) as client:
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


def serve_without_outbox(port: int) -> None:
    """`trackboard server` of the distributed mode with the outbox off: the composition root
    gets no relay, so no transaction writes an `event_outbox` row and nothing is published
    to `trackboard.events`. Everything else (live fan-out through RabbitMQ, the ingest
    queue, the read cache) is as shipped: the difference is the outbox's cost alone."""
    import trackboard.server.app as composition
    from trackboard.cli.entry import main as trackboard

    async def no_relay(*_args: Any) -> None:
        return None

    composition.open_broker_relay = no_relay  # type: ignore[attr-defined,assignment]
    sys.argv = ["trackboard", "server", "--port", str(port)]
    trackboard()


def revision(checkout: Path) -> str:
    """The checkout's commit, marked `+` when its tracked files have uncommitted changes."""

    def git(*args: str) -> str:
        return subprocess.run(
            ["git", "-C", str(checkout), *args], capture_output=True, text=True, check=True
        ).stdout.strip()

    dirty = git("status", "--porcelain", "--untracked-files=no")
    return git("rev-parse", "--short", "HEAD") + ("+" if dirty else "")


def ms(samples: list[float], p: float) -> float:
    return percentile(samples, p) * 1000


def paced_rows(name: str, rounds: list[Round], runs: int) -> str:
    """Table rows for the rounds at one pace: medians over the rounds."""

    def at(samples: str, p: float) -> float:
        return median([ms(getattr(found, samples), p) for found in rounds])

    per_s = rounds[0].per_s
    sustained = median([found.sustained for found in rounds])
    return (
        f"| {name}: {runs} completions paced at {per_s:g}/s, sustained | {sustained:.0f}/s | "
        f"{per_s:g}/s: {verdict(sustained >= per_s - 0.5)} |\n"
        f"| run finished → webhook, p50 | {at('latency', 50):.0f} ms | |\n"
        f"| same, p99 | {at('latency', 99):.0f} ms | ≤ 2,000 ms: "
        f"{verdict(at('latency', 99) <= 2000)} |\n"
        f"| of which event → delivery recorded by the notifier, p50 / p99 | "
        f"{at('to_recorded', 50):.0f} / {at('to_recorded', 99):.0f} ms | |\n"
        f"| of which recorded → webhook arrived, p50 / p99 | "
        f"{at('to_arrived', 50):.0f} / {at('to_arrived', 99):.0f} ms | |\n"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--runs", type=int, default=1000)
    parser.add_argument("--per-s", type=float, default=100.0)
    parser.add_argument("--slow-per-s", type=float, default=25.0, help="a second, slower pace")
    parser.add_argument("--slow-runs", type=int, default=500)
    parser.add_argument("--seconds", type=float, default=5.0)
    parser.add_argument(
        "--no-write", action="store_true", help="print the figures, leave docs/benchmarks.md"
    )
    parser.add_argument(
        "--before",
        type=Path,
        metavar="CHECKOUT",
        help="also measure run creation on a server running this checkout's code (outbox on)",
    )
    parser.add_argument(
        "--creation-only",
        action="store_true",
        help="only the run-creation rounds (prints them; leaves docs/benchmarks.md)",
    )
    parser.add_argument("--serve-without-outbox", type=int, metavar="PORT", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.serve_without_outbox:
        serve_without_outbox(args.serve_without_outbox)
        return
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
    distributed = {
        "TRACKBOARD_DATABASE_URL": database_url,
        "TRACKBOARD_AMQP_URL": f"{AMQP}/{vhost}",
        "TRACKBOARD_LOG_LEVEL": "WARNING",
        "TRACKBOARD_WORKER_METRICS_PORT": "0",
        "TRACKBOARD_NOTIFIER_METRICS_PORT": "0",
        "TRACKBOARD_NOTIFY_ALLOW_HTTP": "true",
        "TRACKBOARD_NOTIFY_ALLOW_PRIVATE_TARGETS": "true",
        "TRACKBOARD_HOME": str(logs),
        # This checkout's code, whichever checkout the venv was installed from.
        "PYTHONPATH": str(ROOT / "src"),
    }
    fast: list[Round] = []
    slow: list[Round] = []
    names = ["outbox", "no outbox"] + (["before"] if args.before else [])
    rates: dict[str, list[float]] = {name: [] for name in names}
    creation_cpu: dict[str, list[float]] = {name: [] for name in names}
    before = revision(args.before) if args.before else ""
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
            notifier_cpu = CpuMeter(children["notifier"].pid)
            wait_http(f"{url}/healthz", 300)

            async def measure_latency(receiver: Receiver, hook: str) -> None:
                async with httpx.AsyncClient(base_url=url) as client:
                    rule = {
                        "name": "bench",
                        "triggers": [{"type": "run.finished"}],
                        "channels": [{"type": "webhook", "url": hook, "secret": "bench"}],
                    }
                    (await client.post("/api/v1/notification-rules", json=rule)).raise_for_status()
                await completion_latency(
                    url, receiver, 50, args.per_s, server_cpu, notifier_cpu, database_url
                )
                for repeat in range(args.repeats):
                    for rounds, runs, per_s in (
                        (fast, args.runs, args.per_s),
                        (slow, args.slow_runs, args.slow_per_s),
                    ):
                        found = await completion_latency(
                            url, receiver, runs, per_s, server_cpu, notifier_cpu, database_url
                        )
                        rounds.append(found)
                        loads.append(os.getloadavg()[0])
                        print(
                            f"round {repeat + 1}: {runs} completions paced at {per_s:g}/s "
                            f"(sustained {found.sustained:.0f}/s, server CPU "
                            f"{found.server_cpu * 1000:.2f} ms each, notifier "
                            f"{found.notifier_cpu * 1000:.2f} ms, this process "
                            f"{found.bench_cpu * 1000:.2f} ms) → webhook p50 "
                            f"{ms(found.latency, 50):.0f} ms, p99 {ms(found.latency, 99):.0f} ms "
                            f"(recorded p50 {ms(found.to_recorded, 50):.0f} ms, p99 "
                            f"{ms(found.to_recorded, 99):.0f} ms); load {loads[-1]:.1f}",
                            flush=True,
                        )

            if not args.creation_only:
                asyncio.run(with_receiver(measure_latency))
            plain_port = free_port()
            plain_url = f"http://127.0.0.1:{plain_port}"
            plain = stack.enter_context(
                process(
                    [sys.executable, __file__, "--serve-without-outbox", str(plain_port)],
                    distributed,
                    logs / "plain.log",
                )
            )
            wait_http(f"{plain_url}/healthz", 300)
            servers = {"outbox": (url, server_cpu), "no outbox": (plain_url, CpuMeter(plain.pid))}
            if args.before:
                before_port = free_port()
                old = stack.enter_context(
                    process(
                        [trackboard, "server", "--port", str(before_port)],
                        {**distributed, "PYTHONPATH": str(args.before.resolve() / "src")},
                        logs / "before.log",
                    )
                )
                wait_http(f"http://127.0.0.1:{before_port}/healthz", 300)
                servers["before"] = (f"http://127.0.0.1:{before_port}", CpuMeter(old.pid))
            # A first round per server, not counted: a server started for these rounds
            # (and one that has created no run with params yet) paid for its first requests
            # (caches, imports, prepared statements) in the first counted round.
            for target, meter in servers.values():
                asyncio.run(creation_rate(target, WARM_UP_S, meter))
            # Alternating rounds on one database: drift in the machine's load hits both.
            # Each repeat starts with the next server, so none is always first after a pause.
            order = list(servers)
            for repeat in range(args.repeats):
                for name in order[repeat % len(order) :] + order[: repeat % len(order)]:
                    target, meter = servers[name]
                    rate, cpu = asyncio.run(creation_rate(target, args.seconds, meter))
                    rates[name].append(rate)
                    creation_cpu[name].append(cpu)
                    loads.append(os.getloadavg()[0])
                    print(
                        f"{name if name != 'before' else f'outbox, code of {before}'} "
                        f"round {repeat + 1}: {rate:.0f} runs/s, server CPU "
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
    with_outbox, without = median(rates["outbox"]), median(rates["no outbox"])
    cost = (1 - with_outbox / without) * 100
    cpu_outbox = median(creation_cpu["outbox"]) * 1000
    cpu_plain = median(creation_cpu["no outbox"]) * 1000
    cpu_cost = (cpu_outbox / cpu_plain - 1) * 100
    # Each round pairs the two servers a few seconds apart: the ratio within a pair is less
    # exposed to the machine's drift than the ratio of the medians.
    pairs = zip(creation_cpu["outbox"], creation_cpu["no outbox"], strict=True)
    paired = [on / off for on, off in pairs]
    paired_cost = (median(paired) - 1) * 100
    before_rows = ""
    if args.before:
        rate_before = median(rates["before"])
        cpu_before = median(creation_cpu["before"]) * 1000
        before_rows = (
            f"| runs created/s and server CPU per creation, outbox on, the code of {before} "
            f"(`--before`) | {rate_before:.0f} / {cpu_before:.2f} ms | |\n"
            f"| cost of the outbox with that code (rate / server CPU) | "
            f"{(1 - rate_before / without) * 100:.1f} / {(cpu_before / cpu_plain - 1) * 100:.1f} % "
            "| |\n"
        )
    if args.creation_only:
        print(
            f"outbox on {with_outbox:.0f} runs/s, {cpu_outbox:.2f} ms; off {without:.0f} runs/s, "
            f"{cpu_plain:.2f} ms: cost {cost:.1f} % (rate), {cpu_cost:.1f} % (CPU), "
            f"{paired_cost:.1f} % (paired CPU); load {min(loads):.1f} to {max(loads):.1f}\n"
            + before_rows
        )
        return
    completion_ms = median([found.server_cpu for found in fast]) * 1000
    bench_ms = median([found.bench_cpu for found in fast + slow]) * 1000
    notifier_ms = median([found.notifier_cpu for found in fast + slow]) * 1000
    met_cpu = verdict(cpu_cost <= 10)
    body = f"""`python bench/events.py` — PostgreSQL + RabbitMQ on loopback, one API server, one
worker, one notifier. Medians of {args.repeats} rounds. The machine is shared with other
work: load average {min(loads):.1f} to {max(loads):.1f} (at start and after each round).
The rates and latencies depend on that load; the API server's CPU time per operation
(user + system of its process over the round, divided by the operations) much less so.

| what | figure | target |
|---|--:|--:|
{paced_rows("at the target pace", fast, args.runs)}\
| server CPU per completion (PATCH, outbox row, its relay) | {completion_ms:.2f} ms | |
| notifier CPU per notification (both paces) | {notifier_ms:.2f} ms | |
{paced_rows("at a slower pace", slow, args.slow_runs)}\
| this process's CPU per completion (paced client + webhook receiver) | {bench_ms:.2f} ms | |
| its ceiling on one core | {1000 / bench_ms:.0f} completions/s | |
| runs created/s, {CREATORS} clients, distributed server, outbox on | {with_outbox:.0f} | |
| runs created/s, same stack, outbox off | {without:.0f} | |
| cost of the outbox on run creation (rate) | {cost:.1f} % | ≤ 10 %: {verdict(cost <= 10)} |
| server CPU per run creation, outbox on / off | {cpu_outbox:.2f} / {cpu_plain:.2f} ms | |
| cost of the outbox on run creation (server CPU) | {cpu_cost:.1f} % | ≤ 10 %: {met_cpu} |
| same, median of the rounds' on/off ratios | {paired_cost:.1f} % | |
{before_rows}
The latency runs from the event's time (`occurred_at`, stamped in the transaction that
finished the run) to the receiver's arrival, on one clock: outbox row committed → the
server publishes it from memory → `trackboard.events` → the notifier's quorum queue →
delivery row (the split) → signed POST. Run creation is measured in alternating rounds on
the two servers, both of the distributed mode on the same PostgreSQL and RabbitMQ; the one
without outbox is `trackboard server` started by `bench/events.py --serve-without-outbox`,
which writes no `event_outbox` row and runs no relay (and so feeds no notifier).
Each server first gets an uncounted {WARM_UP_S:g} s round.
"""
    if args.before:
        body += (
            f"With `--before`, a third server running the code of {before} (outbox on) took\n"
            "part in the same rounds, each repeat starting with the next of the three servers.\n"
        )
    print(body)
    if not args.no_write:
        write_section("events", body)


if __name__ == "__main__":
    main()
