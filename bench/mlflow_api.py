"""Many small calls: MLflow's `log-metric` (one point a call) driven by wrk.

    python bench/mlflow_api.py [--repeats 3] [--seconds 10] [--connections 4,16]
        [--api-workers 2]

One command starts, each on a free loopback port with data of its own, through the test
harness (`tests/mlflow_compat/servers.py`): Trackboard embedded (SQLite), Trackboard
distributed (a throwaway PostgreSQL database, a RabbitMQ vhost of its own, one
`trackboard worker`) and MLflow's tracking server 3.17.2 (SQLite). wrk (installed with apt
when missing) drives each at fixed concurrency with `bench/log_metric.lua`, the servers
taking turns so that they share whatever else loads the machine. Afterwards every server's
history is read back: each acknowledged point must be stored, and none twice. Prints the
figures and writes docs/benchmarks-mlflow.md (machine, date, medians of the repeats),
keeping the notes written by hand below its marker.

Besides calls/s and latencies it records what each call cost in CPU: the server's processes
(distributed: the API processes and the worker) and wrk's own, and, once per connection
count, wrk against Trackboard's `/healthz` (the ceiling of generator plus HTTP server on a
trivial endpoint at the same concurrency).
"""

import argparse
import asyncio
import datetime
import os
import re
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import asyncpg
import httpx
import orjson
import psutil  # type: ignore[import-untyped]

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from tests.mlflow_compat.servers import (  # noqa: E402
    BIN,
    ServerSpec,
    mlflow_spec,
    running,
    trackboard_spec,
)

from bench.report import machine, write_keeping_hand_notes  # noqa: E402

REPORT = ROOT / "docs" / "benchmarks-mlflow.md"
# What follows this line in the report is written by hand and kept by a rerun.
KEPT_MARKER = "<!-- written by hand below: kept by bench/mlflow_api.py -->"
LUA = ROOT / "bench" / "log_metric.lua"
PG = "postgresql://postgres@127.0.0.1:5432"
AMQP = "amqp://guest:guest@127.0.0.1:5672"
WRK_THREADS = 2
SERVERS = ("trackboard embedded", "trackboard distributed", "mlflow")
# The distributed mode stores points after the 200 (the broker holds them until then).
STORED_WAIT_S = 60.0


def ensure_wrk() -> str:
    found = shutil.which("wrk")
    if found is None:
        print("installing wrk with apt-get", flush=True)
        subprocess.run(["apt-get", "update", "-qq"], check=True)
        subprocess.run(
            ["apt-get", "install", "-y", "-qq", "wrk"],
            check=True,
            env={**os.environ, "DEBIAN_FRONTEND": "noninteractive"},
        )
        found = shutil.which("wrk")
    assert found is not None
    return found


async def admin(sql: str) -> None:
    connection = await asyncpg.connect(f"{PG}/test")
    try:
        await connection.execute(sql)
    finally:
        await connection.close()


def rabbitmqctl(*args: str) -> None:
    subprocess.run(["rabbitmqctl", *args], check=True, capture_output=True, timeout=60)


@contextmanager
def distributed_backends(tag: str) -> Iterator[tuple[str, str]]:
    """A PostgreSQL database and a RabbitMQ vhost for this run: (database URL, AMQP URL)."""
    database, vhost = f"tb_bench_mlflow_api_{tag}", f"tb-bench-mlflow-api-{tag}"
    asyncio.run(admin(f'CREATE DATABASE "{database}"'))
    rabbitmqctl("add_vhost", vhost)
    rabbitmqctl("set_permissions", "-p", vhost, "guest", ".*", ".*", ".*")
    try:
        yield f"postgresql+asyncpg://postgres@127.0.0.1:5432/{database}", f"{AMQP}/{vhost}"
    finally:
        asyncio.run(admin(f'DROP DATABASE IF EXISTS "{database}" WITH (FORCE)'))
        rabbitmqctl("delete_vhost", vhost)


def distributed_specs(
    home: Path, database_url: str, amqp_url: str, api_workers: int
) -> tuple[ServerSpec, ServerSpec]:
    """`trackboard server` (migrating its fresh database at start) and `trackboard worker`."""
    server = trackboard_spec(home / "server")
    env = {
        **server.env,
        "TRACKBOARD_DATABASE_URL": database_url,
        "TRACKBOARD_AMQP_URL": amqp_url,
        "TRACKBOARD_APPLY_MIGRATIONS_ON_START": "true",
    }
    server = ServerSpec(
        [*server.command, "--workers", str(api_workers)], env, server.health, server.data_dir
    )
    worker_home = home / "worker"
    worker_home.mkdir(parents=True, exist_ok=True)
    worker = ServerSpec(
        [str(BIN / "trackboard"), "worker", "--metrics-port", "{port}"],
        {**env, "TRACKBOARD_HOME": str(worker_home)},
        "/metrics",
        worker_home,
    )
    return server, worker


# ---------------------------------------------------------------- driving and checking


def session_of(url: str) -> int:
    """The session (process group leader) of the server listening at `url`: the harness
    starts each server in a session of its own, with its worker processes."""
    port = int(url.rsplit(":", 1)[1])
    for connection in psutil.net_connections(kind="tcp"):
        if connection.status == psutil.CONN_LISTEN and connection.laddr.port == port:
            assert connection.pid is not None
            return os.getsid(connection.pid)
    raise RuntimeError(f"nothing listens on port {port}")


def cpu_seconds(sessions: list[int]) -> float:
    """User + system CPU of every process in these sessions: the server's cost of a round,
    which a machine busy with other work inflates far less than the latencies."""
    total = 0.0
    for process in psutil.process_iter():
        try:
            if os.getsid(process.pid) in sessions:
                times = process.cpu_times()
                total += times.user + times.system
        except (psutil.Error, ProcessLookupError):
            continue
    return total


@dataclass
class Round:
    server: str
    connections: int
    key: str
    calls_per_s: float
    p50_ms: float
    p95_ms: float
    p99_ms: float
    max_ms: float
    ok: int
    sent: int
    refused: int
    errors: int
    cpu_ms_per_call: float = float("nan")
    wrk_cpu_ms_per_call: float = float("nan")


def children_cpu_seconds() -> float:
    """User + system CPU of this process's finished children (wrk, once waited for)."""
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def create_run(url: str) -> str:
    api = f"{url}/api/2.0/mlflow"
    with httpx.Client(timeout=60) as http:
        response = http.post(
            f"{api}/experiments/create", json={"name": f"bench-{uuid.uuid4().hex}"}
        )
        response.raise_for_status()
        experiment_id = response.json()["experiment_id"]
        response = http.post(
            f"{api}/runs/create",
            json={"experiment_id": experiment_id, "start_time": int(time.time() * 1000)},
        )
        response.raise_for_status()
        return str(response.json()["run"]["info"]["run_id"])


def run_wrk(
    wrk: str, server: str, url: str, run_id: str, key: str, connections: int, seconds: float
) -> Round:
    wrk_cpu_before = children_cpu_seconds()
    completed = subprocess.run(
        [
            wrk,
            f"-t{min(WRK_THREADS, connections)}",
            f"-c{connections}",
            f"-d{seconds:g}s",
            "--timeout",
            "10s",
            "-s",
            str(LUA),
            url,
        ],
        env={**os.environ, "BENCH_RUN_ID": run_id, "BENCH_KEY": key},
        capture_output=True,
        text=True,
        check=True,
    )
    line = next((x for x in completed.stdout.splitlines() if x.startswith("BENCH_JSON ")), None)
    if line is None:
        raise RuntimeError(f"wrk printed no figures:\n{completed.stdout}\n{completed.stderr}")
    figures: dict[str, Any] = orjson.loads(line.removeprefix("BENCH_JSON "))
    wrk_cpu = children_cpu_seconds() - wrk_cpu_before
    return Round(
        server,
        connections,
        key,
        figures["ok"] / (figures["duration_us"] / 1e6),
        figures["p50_us"] / 1000,
        figures["p95_us"] / 1000,
        figures["p99_us"] / 1000,
        figures["max_us"] / 1000,
        figures["ok"],
        figures["sent"],
        figures["refused"],
        figures["socket_errors"] + figures["timeouts"],
        wrk_cpu_ms_per_call=1000 * wrk_cpu / max(figures["requests"], 1),
    )


@dataclass
class Ceiling:
    connections: int
    requests_per_s: float
    wrk_cpu_ms_per_call: float


def healthz_ceiling(wrk: str, url: str, connections: int, seconds: float) -> Ceiling:
    """wrk against a trivial endpoint at the same concurrency: how many calls/s generator
    and HTTP server manage when a call does nothing."""
    before = children_cpu_seconds()
    completed = subprocess.run(
        [
            wrk,
            f"-t{min(WRK_THREADS, connections)}",
            f"-c{connections}",
            f"-d{seconds:g}s",
            f"{url}/healthz",
        ],
        capture_output=True,
        text=True,
        check=True,
    )
    used = children_cpu_seconds() - before
    requests = re.search(r"(\d+) requests in", completed.stdout)
    rate = re.search(r"Requests/sec:\s+([\d.]+)", completed.stdout)
    if requests is None or rate is None:
        raise RuntimeError(f"wrk printed no figures:\n{completed.stdout}\n{completed.stderr}")
    return Ceiling(connections, float(rate[1]), 1000 * used / max(int(requests[1]), 1))


def stored_steps(url: str, run_id: str, key: str) -> list[int]:
    """Every stored step of the key, page by page (MLflow pages at 25,000)."""
    steps: list[int] = []
    token: str | None = None
    with httpx.Client(timeout=120) as http:
        while True:
            params: dict[str, Any] = {"run_id": run_id, "metric_key": key, "max_results": 25_000}
            if token:
                params["page_token"] = token
            response = http.get(f"{url}/api/2.0/mlflow/metrics/get-history", params=params)
            response.raise_for_status()
            body = orjson.loads(response.content)
            steps.extend(int(m.get("step", 0)) for m in body.get("metrics", []))
            token = body.get("next_page_token")
            if not token:
                return steps


def check_stored(url: str, run_id: str, rounds: list[Round]) -> list[str]:
    """Problems found: an acknowledged point missing, or a point stored twice."""
    problems = []
    for result in rounds:
        deadline = time.monotonic() + STORED_WAIT_S
        while True:
            steps = stored_steps(url, run_id, result.key)
            if len(steps) >= result.ok or time.monotonic() > deadline:
                break
            time.sleep(0.5)
        if len(steps) != len(set(steps)):
            problems.append(f"{result.server} {result.key}: {len(steps) - len(set(steps))} doubled")
        if len(set(steps)) < result.ok:
            problems.append(
                f"{result.server} {result.key}: {result.ok} acknowledged, {len(set(steps))} stored"
            )
        if len(set(steps)) > result.sent:
            problems.append(f"{result.server} {result.key}: more stored than sent")
    return problems


# ---------------------------------------------------------------- report


def summarise(rounds: list[Round], server: str, connections: int) -> dict[str, float]:
    mine = [r for r in rounds if r.server == server and r.connections == connections]
    return {
        field: statistics.median(getattr(r, field) for r in mine)
        for field in (
            "calls_per_s",
            "p50_ms",
            "p95_ms",
            "p99_ms",
            "max_ms",
            "cpu_ms_per_call",
            "wrk_cpu_ms_per_call",
        )
    }


def table(rounds: list[Round], connections: list[int]) -> str:
    lines = [
        "| server | connections | calls/s | p50 ms | p95 ms | p99 ms | max ms | vs MLflow "
        "| server CPU ms/call | wrk CPU ms/call |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    measured = [s for s in SERVERS if any(r.server == s for r in rounds)]
    for count in connections:
        mlflow = "mlflow" in measured
        reference = summarise(rounds, "mlflow", count)["calls_per_s"] if mlflow else 0.0
        for server in measured:
            s = summarise(rounds, server, count)
            ratio = f"{s['calls_per_s'] / reference:.1f}x" if reference else "n/a"
            lines.append(
                f"| {server} | {count} | {s['calls_per_s']:,.0f} | {s['p50_ms']:.1f} "
                f"| {s['p95_ms']:.1f} | {s['p99_ms']:.1f} | {s['max_ms']:.0f} | {ratio} "
                f"| {s['cpu_ms_per_call']:.2f} | {s['wrk_cpu_ms_per_call']:.3f} |"
            )
    return "\n".join(lines)


def write_report(
    rounds: list[Round],
    ceilings: list[Ceiling],
    args: argparse.Namespace,
    problems: list[str],
    load: tuple[float, float],
) -> str:
    connections = [int(c) for c in args.connections.split(",")]
    stamp = datetime.datetime.now(datetime.UTC).strftime("%Y-%m-%d %H:%M UTC")
    per_round = "\n".join(
        f"- {r.server}, {r.connections} connections: {r.calls_per_s:,.0f} calls/s, "
        f"p99 {r.p99_ms:.1f} ms, server CPU {r.cpu_ms_per_call:.2f} ms/call "
        f"({r.ok:,} acknowledged, {r.refused} refused, {r.errors} socket errors/timeouts)"
        for r in rounds
    )
    ceiling_lines = "\n".join(
        f"- {c.connections} connections: {c.requests_per_s:,.0f} calls/s, wrk CPU "
        f"{c.wrk_cpu_ms_per_call:.3f} ms/call"
        for c in ceilings
    )
    stored = (
        "Every acknowledged point was read back from each server's history, none twice."
        if not problems
        else "**Stored-points check failed:** " + "; ".join(problems)
    )
    text = (
        "# Many small calls: MLflow's log-metric\n\n"
        f"Written by `python bench/mlflow_api.py --repeats {args.repeats} --seconds "
        f"{args.seconds:g} --connections {args.connections} --api-workers {args.api_workers}`."
        f"\nMeasured {stamp} on {machine()}; wrk ({WRK_THREADS} threads, "
        "`bench/log_metric.lua`), the servers, PostgreSQL and RabbitMQ share the 2 cores "
        f"(1-minute load average at the start {load[0]:.1f}, at the end {load[1]:.1f}). "
        "Each call logs one distinct point to one run; a call counts when answered 200. "
        "The servers take turns, round by round; figures are the medians of "
        f"{args.repeats} rounds of {args.seconds:g} s. Trackboard embedded: one "
        "`trackboard server` process, SQLite, a 200 once the group-commit writer committed "
        "the point. Distributed: `trackboard server` "
        f"({args.api_workers} process{'es' if args.api_workers > 1 else ''}), a 200 once "
        "RabbitMQ confirmed the message, one `trackboard worker` writing to PostgreSQL. "
        "MLflow 3.17.2: `mlflow server`, SQLite, one worker. Server CPU is the user + system "
        "time of the server's processes during the round (distributed: API and worker) per "
        "acknowledged call: the figure that other work on the machine distorts least; wrk "
        "CPU is wrk's own user + system time per call it sent.\n\n"
        "Target (PRODUCT.md): ≥ 2,000 calls/s, p99 ≤ 20 ms.\n\n"
        f"{table(rounds, connections)}\n\n{stored}\n\n"
        "The generator's ceiling: wrk (same threads and connections) against Trackboard "
        "embedded's `/healthz`, a call that does nothing, in the same run:\n\n"
        f"{ceiling_lines}\n\nPer round:\n\n{per_round}\n"
    )
    write_keeping_hand_notes(REPORT, text, KEPT_MARKER)
    return text


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--connections", default="4,16")
    parser.add_argument(
        "--api-workers", type=int, default=2, help="API processes in the distributed mode"
    )
    parser.add_argument(
        "--only", choices=SERVERS, action="append", help="measure only these (no report)"
    )
    args = parser.parse_args()
    wrk = ensure_wrk()
    servers = tuple(args.only or SERVERS)
    connections = [int(c) for c in args.connections.split(",")]
    load_at_start = os.getloadavg()[0]
    tag = uuid.uuid4().hex[:8]
    rounds: list[Round] = []
    problems: list[str] = []
    with (
        distributed_backends(tag) as (database_url, amqp_url),
        tempfile.TemporaryDirectory(prefix="tb-bench-mlflow-api-") as temporary,
    ):
        home = Path(temporary)
        server_spec, worker_spec = distributed_specs(
            home / "distributed", database_url, amqp_url, args.api_workers
        )
        specs = {
            "trackboard embedded": trackboard_spec(home / "embedded"),
            "trackboard distributed": server_spec,
            "mlflow": mlflow_spec(home / "mlflow"),
        }
        distributed = "trackboard distributed" in servers
        with (
            running(*(specs[s] for s in servers)) as started,
            running(*([worker_spec] if distributed else [])) as workers,
        ):
            urls = {s: server.url for s, server in zip(servers, started, strict=True)}
            sessions = {s: [session_of(url)] for s, url in urls.items()}
            if distributed:
                sessions["trackboard distributed"].append(session_of(workers[0].url))
            for server, url in urls.items():
                print(f"{server}: {url}", flush=True)
            run_ids = {s: create_run(url) for s, url in urls.items()}
            for server, url in urls.items():  # warm up
                run_wrk(wrk, server, url, run_ids[server], "warmup", 4, 2)
            reference_url = urls.get("trackboard embedded", next(iter(urls.values())))
            ceilings = [healthz_ceiling(wrk, reference_url, c, args.seconds) for c in connections]
            for ceiling in ceilings:
                print(
                    f"/healthz c={ceiling.connections:<3} {ceiling.requests_per_s:8,.0f} calls/s  "
                    f"wrk cpu {ceiling.wrk_cpu_ms_per_call:.3f} ms/call",
                    flush=True,
                )
            for repeat in range(args.repeats):
                for count in connections:
                    for server, url in urls.items():
                        key = f"loss-c{count}-r{repeat}"
                        cpu_before = cpu_seconds(sessions[server])
                        result = run_wrk(
                            wrk, server, url, run_ids[server], key, count, args.seconds
                        )
                        used = cpu_seconds(sessions[server]) - cpu_before
                        result.cpu_ms_per_call = 1000 * used / max(result.ok, 1)
                        rounds.append(result)
                        print(
                            f"{server:24} c={count:<3} {result.calls_per_s:8,.0f} calls/s  "
                            f"p50 {result.p50_ms:6.1f}  p95 {result.p95_ms:6.1f}  "
                            f"p99 {result.p99_ms:7.1f}  max {result.max_ms:6.0f} ms  "
                            f"cpu {result.cpu_ms_per_call:5.2f} ms/call  "
                            f"wrk cpu {result.wrk_cpu_ms_per_call:5.3f}  "
                            f"refused {result.refused} errors {result.errors}",
                            flush=True,
                        )
            for server, url in urls.items():
                problems += check_stored(
                    url, run_ids[server], [r for r in rounds if r.server == server]
                )
    print(
        "stored-points check: "
        + ("every acknowledged point stored once" if not problems else "; ".join(problems))
    )
    if args.only:
        print(table(rounds, connections))
        return
    load = (load_at_start, os.getloadavg()[0])
    print(write_report(rounds, ceilings, args, problems, load))


if __name__ == "__main__":
    main()
