"""Run creation at the seed's shape (issue 18 §1): how fast the v1 API creates runs with 20
params and 7 tags from concurrent clients into a few experiments, skewed like the seed.

    nice -n 10 .venv/bin/python -m bench.scale_runs [--before CHECKOUT] [--batch-size 100]

Starts on loopback, per code measured, a database (migrated by that code) and a RabbitMQ
vhost of its own and `trackboard server` (`--api-workers` processes, the distributed mode).
Rounds of `--seconds` alternate between the servers (and, with `--batch-size`, between
`POST /api/v1/experiments/{id}/runs` one run a request and `.../runs:batch`): the modes share
the machine's load. Runs go experiment by experiment as the scale loader posts them (the
experiments' sizes drawn like the seed's: zipf, largest first), so the `--clients` write into
the same experiment at once. Each server gets an uncounted warm-up round. Figures are the
medians of the counted rounds; CPU is the server's processes' (user + system) per run.
Writes the "Run creation" section of docs/benchmarks-scale.md (unless --no-write).
"""

import argparse
import asyncio
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

from bench.ingest import AMQP, BIN, PG, admin, free_port, process, rabbitmqctl, wait_http
from bench.report import median, write_section
from bench.retention import SCALE_HEADER, SCALE_MD
from bench.scale import cpu_seconds, process_tree
from bench.scale_plan import zipf_sizes

ROOT = Path(__file__).resolve().parent.parent
PARAMS = 20
TAGS = 7
EXPERIMENTS = 8
# Runs of the largest experiment in one sequence: its share sets how often the clients meet
# in one experiment (the seed's largest hold 5-27 % of the runs of their scale).
SEQUENCE_RUNS = 20_000
WARM_UP_S = 2.0


def run_body(index: int) -> dict[str, Any]:
    return {
        "id": uuid.uuid4().hex,
        "name": f"run-{index}",
        "user": "scale",
        "status": "FINISHED",
        "start_time": 1_700_000_000_000 + index,
        "params": {f"param_{k}": f"value-{index % 97}-{k}" for k in range(PARAMS)},
        "tags": {f"tag_{k}": f"t{index % 13}-{k}" for k in range(TAGS)},
    }


def experiment_sequence() -> list[int]:
    """Experiment positions in the loader's order: each experiment's runs one after the other."""
    return [
        position
        for position, size in enumerate(zipf_sizes(SEQUENCE_RUNS, EXPERIMENTS))
        for _ in range(size)
    ]


class Server:
    """One code's server, database and vhost."""

    def __init__(self, name: str, source: Path, logs: Path) -> None:
        tag = uuid.uuid4().hex[:8]
        self.name = name
        self.source = source
        self.database = f"tb_runs_{tag}"
        self.vhost = f"tb-runs-{tag}"
        self.logs = logs
        self.url = ""
        self.pid = 0
        self.experiment_ids: list[int] = []
        self.position = 0  # next index into the experiment sequence

    def env(self) -> dict[str, str]:
        return {
            "TRACKBOARD_DATABASE_URL": f"{PG}/{self.database}",
            "TRACKBOARD_AMQP_URL": f"{AMQP}/{self.vhost}",
            "TRACKBOARD_LOG_LEVEL": "WARNING",
            "TRACKBOARD_HOME": str(self.logs),
            "PYTHONPATH": str(self.source / "src"),
        }

    def create(self) -> None:
        asyncio.run(admin(f'CREATE DATABASE "{self.database}"'))
        rabbitmqctl("add_vhost", self.vhost)
        rabbitmqctl("set_permissions", "-p", self.vhost, "guest", ".*", ".*", ".*")
        subprocess.run(
            [str(BIN / "trackboard"), "db", "upgrade"],
            env={**os.environ, **self.env()},
            check=True,
            capture_output=True,
        )

    def drop(self) -> None:
        asyncio.run(admin(f'DROP DATABASE IF EXISTS "{self.database}" WITH (FORCE)'))
        rabbitmqctl("delete_vhost", self.vhost)

    def cpu_seconds(self) -> float:
        return cpu_seconds(process_tree(self.pid))


async def create_experiments(http: aiohttp.ClientSession, server: Server) -> None:
    for index in range(EXPERIMENTS):
        body = {"name": f"runs-bench-{index}", "tags": {}}
        async with http.post(f"{server.url}/api/v1/experiments", json=body) as response:
            response.raise_for_status()
            server.experiment_ids.append((await response.json())["id"])


async def creation_round(
    http: aiohttp.ClientSession,
    server: Server,
    sequence: list[int],
    seconds: float,
    clients: int,
    batch_size: int,
) -> tuple[int, float, float]:
    """(runs created, seconds, server CPU seconds) of `clients` creating for `seconds`;
    `batch_size` 0: one run a request, else that many a `runs:batch` request."""
    created = 0
    deadline = time.monotonic() + seconds

    def take(count: int) -> tuple[int, int]:
        """The experiment of the next runs and how many of them (one experiment a request)."""
        position = server.position % len(sequence)
        experiment = sequence[position]
        count = min(count, len(sequence) - position)
        if sequence[position + count - 1] != experiment:
            count = sequence.index(sequence[position + count - 1], position) - position
        server.position += count
        return server.experiment_ids[experiment], count

    async def client() -> None:
        nonlocal created
        while time.monotonic() < deadline:
            experiment_id, count = take(max(1, batch_size))
            bodies = [run_body(server.position - count + i) for i in range(count)]
            if batch_size:
                url = f"{server.url}/api/v1/experiments/{experiment_id}/runs:batch"
                payload: Any = {"runs": bodies}
            else:
                url = f"{server.url}/api/v1/experiments/{experiment_id}/runs"
                payload = bodies[0]
            async with http.post(url, json=payload) as response:
                if response.status >= 300:
                    raise RuntimeError(f"{url}: {response.status} {await response.text()}")
            created += count

    cpu_start = server.cpu_seconds()
    started = time.monotonic()
    await asyncio.gather(*(client() for _ in range(clients)))
    return created, time.monotonic() - started, server.cpu_seconds() - cpu_start


async def measure(
    servers: list[Server], modes: list[tuple[str, int]], args: argparse.Namespace
) -> dict[tuple[str, str], list[tuple[float, float]]]:
    """(runs/s, CPU ms per run) of each round, by (server, mode)."""
    sequence = experiment_sequence()
    results: dict[tuple[str, str], list[tuple[float, float]]] = {}
    connector = aiohttp.TCPConnector(limit=0, keepalive_timeout=2.0)
    timeout = aiohttp.ClientTimeout(total=120)
    async with aiohttp.ClientSession(connector=connector, timeout=timeout) as http:
        for server in servers:
            await create_experiments(http, server)
        pairs = [(server, mode) for server in servers for mode in modes if server.name == "after"]
        pairs += [(server, modes[0]) for server in servers if server.name == "before"]
        for server, (_, batch_size) in pairs:
            await creation_round(http, server, sequence, WARM_UP_S, args.clients, batch_size)
        for repeat in range(args.rounds):
            # Each repeat starts with the next pair: none always runs first or last.
            shift = repeat % len(pairs)
            for server, (mode, batch_size) in pairs[shift:] + pairs[:shift]:
                runs, seconds, cpu = await creation_round(
                    http, server, sequence, args.seconds, args.clients, batch_size
                )
                results.setdefault((server.name, mode), []).append(
                    (runs / seconds, cpu / runs * 1000)
                )
                print(
                    f"{server.name:6} {mode:24} {runs / seconds:8.0f} runs/s "
                    f"{cpu / runs * 1000:6.2f} ms CPU/run",
                    flush=True,
                )
    return results


def revision(checkout: Path) -> str:
    return subprocess.run(
        ["git", "-C", str(checkout), "rev-parse", "--short", "HEAD"],
        check=True,
        capture_output=True,
        text=True,
    ).stdout.strip()


def report(
    results: dict[tuple[str, str], list[tuple[float, float]]],
    args: argparse.Namespace,
    loads: tuple[float, float],
    before: str,
) -> str:
    batch = f" --batch-size {args.batch_size}" if args.batch_size else ""
    before_arg = " --before <checkout>" if args.before else ""
    lines = [
        f"Command: `nice -n 10 python -m bench.scale_runs --rounds {args.rounds} --seconds "
        f"{args.seconds:g} --clients {args.clients} --api-workers {args.api_workers}{batch}"
        f"{before_arg}` (load average {loads[0]:.1f} at the start, {loads[1]:.1f} at the end).",
        "",
        f"Runs with {PARAMS} params and {TAGS} tags (created FINISHED), from {args.clients} "
        f"concurrent clients into {EXPERIMENTS} experiments taken one after the other with "
        "zipf sizes (largest first), as the scale loader goes: the clients write into the "
        "same experiment at once. Each server is the distributed mode on its own database, "
        f"migrated by its code; rounds of {args.seconds:g} s alternate between servers and "
        "modes. Medians of the rounds; CPU is the API server's processes' per run (not "
        "PostgreSQL's).",
        "",
        "| code | request | rounds | runs/s | server CPU per run |",
        "|---|---|---:|---:|---:|",
    ]
    for (name, mode), rounds in results.items():
        code = f"before ({before})" if name == "before" else "this checkout"
        rate = median([r for r, _ in rounds])
        cpu = median([c for _, c in rounds])
        lines.append(f"| {code} | {mode} | {len(rounds)} | {rate:,.0f} | {cpu:.2f} ms |")
    return "\n".join(lines) + "\n"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--seconds", type=float, default=5.0)
    parser.add_argument("--clients", type=int, default=8)
    parser.add_argument("--api-workers", type=int, default=2)
    parser.add_argument("--batch-size", type=int, default=0, help="also runs:batch of this many")
    parser.add_argument("--before", type=Path, help="a checkout of the older code to compare")
    parser.add_argument("--no-write", action="store_true", help="print only")
    args = parser.parse_args()
    logs = ROOT / ".bench" / f"scale-runs-{uuid.uuid4().hex[:8]}"
    logs.mkdir(parents=True, exist_ok=True)
    servers = [Server("after", ROOT, logs)]
    if args.before:
        servers.append(Server("before", args.before.resolve(), logs))
    modes = [("one run a request", 0)]
    if args.batch_size:
        modes.append((f"runs:batch of {args.batch_size}", args.batch_size))
    load_start = os.getloadavg()[0]
    try:
        for server in servers:
            server.create()
        with ExitStack() as stack:
            for server in servers:
                port = free_port()
                command = [str(BIN / "trackboard"), "server", "--port", str(port)]
                command += ["--workers", str(args.api_workers)]
                child = stack.enter_context(
                    process(command, server.env(), logs / f"{server.name}.log")
                )
                server.url, server.pid = f"http://127.0.0.1:{port}", child.pid
            for server in servers:
                wait_http(f"{server.url}/healthz", 300)
            results = asyncio.run(measure(servers, modes, args))
    finally:
        for server in servers:
            server.drop()
        shutil.rmtree(logs, ignore_errors=True)
    text = report(
        results,
        args,
        (load_start, os.getloadavg()[0]),
        revision(args.before) if args.before else "",
    )
    print(text)
    if not args.no_write:
        write_section("Run creation", text, path=SCALE_MD, header=SCALE_HEADER)
        print(f"wrote {SCALE_MD}")


if __name__ == "__main__":
    sys.exit(main())
