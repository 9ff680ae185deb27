"""Benchmark of the Python client (`python bench/client.py`).

Measures, in the training thread, what `run.log` with a 5-key dict costs (median, p99),
the sustained points/s from `log` to stored in an embedded server it starts itself, and
what `log` costs while the server is down. Prints the figures (medians of several rounds)
and writes them to docs/benchmarks-client.md with the machine and the date."""

from __future__ import annotations

import argparse
import datetime
import os
import platform
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx

import trackboard

ROOT = Path(__file__).resolve().parent.parent
REPORT = ROOT / "docs" / "benchmarks-client.md"
SECTION_START = "<!-- bench:client -->"
SECTION_END = "<!-- /bench:client -->"


def write_section(section: str) -> None:
    """Replaces this benchmark's section of the report, keeping whatever else it holds."""
    text = REPORT.read_text() if REPORT.exists() else "# Client benchmarks\n"
    if SECTION_START in text and SECTION_END in text:
        before, rest = text.split(SECTION_START, 1)
        after = rest.split(SECTION_END, 1)[1].lstrip("\n")
        text = f"{before}{section}{after}"
    else:
        text = f"{text.rstrip()}\n\n{section}"
    REPORT.write_text(text)


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


class EmbeddedServer:
    """`trackboard server` on SQLite in a temporary TRACKBOARD_HOME."""

    def __init__(self, home: Path) -> None:
        self.home = home
        self.url = f"http://127.0.0.1:{_free_port()}"
        self._process: subprocess.Popen[bytes] | None = None

    def __enter__(self) -> EmbeddedServer:
        executable = Path(sys.executable).with_name("trackboard")
        port = self.url.rsplit(":", 1)[1]
        self._process = subprocess.Popen(
            [str(executable), "server", "--host", "127.0.0.1", "--port", port],
            env={**os.environ, "TRACKBOARD_HOME": str(self.home)},
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            try:
                if httpx.get(f"{self.url}/healthz", timeout=1).status_code == 200:
                    return self
            except httpx.TransportError:
                time.sleep(0.2)
        raise RuntimeError("the embedded server did not start")

    def __exit__(self, *exc: object) -> None:
        assert self._process is not None
        self._process.terminate()
        self._process.wait(timeout=30)


def _percentile(sorted_values: list[int], fraction: float) -> float:
    return float(sorted_values[min(len(sorted_values) - 1, int(len(sorted_values) * fraction))])


def measure_log_cost(run: trackboard.Run, calls: int) -> tuple[float, float, float]:
    """Median, p99 and mean of one `run.log` call with 5 keys, in microseconds.

    Called in a tight loop, the worst case: past the memory bound the training thread
    batches the waiting calls itself, which shows in the mean, not in the median or p99."""
    clock = time.perf_counter_ns
    costs = [0] * calls
    log = run.log
    for i in range(calls):
        metrics = {"loss": 1.0 / (i + 1), "acc": i * 1e-6, "lr": 0.001, "grad": 0.5, "epoch": i}
        started = clock()
        log(metrics)
        costs[i] = clock() - started
    mean = sum(costs) / calls / 1000
    costs.sort()
    return _percentile(costs, 0.5) / 1000, _percentile(costs, 0.99) / 1000, mean


def measure_throughput(url: str, calls: int) -> tuple[float, float]:
    """Points/s from the first `log` until `finish` returned with everything stored, and the
    median log cost while doing it (µs)."""
    run = trackboard.init(experiment="bench-throughput", url=url)
    started = time.perf_counter()
    median, _, _ = measure_log_cost(run, calls)
    run.finish(timeout=600)
    elapsed = time.perf_counter() - started
    with trackboard.Api(url) as api:
        stored = sum(m.count for m in api.run(run.id).metrics.values())
    if stored != calls * 5:
        raise RuntimeError(f"stored {stored} points, logged {calls * 5}")
    return calls * 5 / elapsed, median


def measure_mlflow_log_metrics(url: str, calls: int) -> tuple[float, float] | None:
    """MLflow's default client (one synchronous HTTP call a call) logging the same 5-key
    dict to the same server through its MLflow-compatible API: median and p99 in µs."""
    try:
        import mlflow
    except ImportError:
        return None
    mlflow.set_tracking_uri(url)
    mlflow.set_experiment("bench-mlflow-client")
    costs = []
    with mlflow.start_run():
        for step in range(calls):
            values = {f"k{i}": 0.5 + step * 1e-3 + i for i in range(5)}
            started = time.perf_counter_ns()
            mlflow.log_metrics(values, step=step)
            costs.append(time.perf_counter_ns() - started)
    costs.sort()
    return _percentile(costs, 0.5) / 1000, _percentile(costs, 0.99) / 1000


def machine() -> str:
    uname = subprocess.run(["uname", "-a"], capture_output=True, text=True).stdout.strip()
    return (
        f"- machine: `{uname or ' '.join(platform.uname())}`\n"
        f"- nproc: {len(os.sched_getaffinity(0))}, Python {platform.python_version()}, "
        f"load average at the end: {os.getloadavg()[0]:.1f}\n"
        f"- date: {datetime.datetime.now(datetime.UTC).strftime('%Y-%m-%d %H:%M UTC')}\n"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--calls", type=int, default=200_000, help="log calls per round")
    parser.add_argument("--no-write", action="store_true", help="do not update the docs")
    args = parser.parse_args()

    scratch = Path(tempfile.mkdtemp(prefix="trackboard-bench-"))
    os.environ["TRACKBOARD_HOME"] = str(scratch / "client")
    os.environ.pop("TRACKBOARD_MODE", None)
    medians, p99s, means, rates, busy_medians = [], [], [], [], []
    down_medians, down_p99s, down_means = [], [], []
    mlflow_medians: list[float] = []
    mlflow_p99s: list[float] = []
    try:
        with EmbeddedServer(scratch / "server") as server:
            for round_number in range(args.rounds):
                run = trackboard.init(experiment="bench-log-cost", url=server.url)
                median, p99, mean = measure_log_cost(run, args.calls)
                run.finish(timeout=600)
                medians.append(median)
                p99s.append(p99)
                means.append(mean)
                rate, busy_median = measure_throughput(server.url, args.calls)
                rates.append(rate)
                busy_medians.append(busy_median)
                mlflow_cost = measure_mlflow_log_metrics(server.url, 300)
                if mlflow_cost is not None:
                    mlflow_medians.append(mlflow_cost[0])
                    mlflow_p99s.append(mlflow_cost[1])
                print(
                    f"round {round_number + 1}: log median {median:.2f} µs, p99 {p99:.2f} µs; "
                    f"{rate:,.0f} points/s end to end",
                    flush=True,
                )
        os.environ["TRACKBOARD_INIT_TIMEOUT"] = "0.2"
        down_url = f"http://127.0.0.1:{_free_port()}"
        for _ in range(args.rounds):
            run = trackboard.init(experiment="bench-server-down", url=down_url)
            median, p99, mean = measure_log_cost(run, args.calls)
            run.finish(timeout=0.5)
            down_medians.append(median)
            down_p99s.append(p99)
            down_means.append(mean)
    finally:
        shutil.rmtree(scratch, ignore_errors=True)

    rows = [
        ("`run.log` (5 keys), server up: median", f"{statistics.median(medians):.2f} µs", "≤ 5 µs"),
        ("`run.log` (5 keys), server up: p99", f"{statistics.median(p99s):.2f} µs", "≤ 50 µs"),
        ("`run.log` (5 keys), server up: mean", f"{statistics.median(means):.2f} µs", ""),
        (
            "end to end, log → stored (embedded SQLite)",
            f"{statistics.median(rates):,.0f} points/s",
            "",
        ),
        (
            "`run.log` median while sending at full rate",
            f"{statistics.median(busy_medians):.2f} µs",
            "",
        ),
        (
            "`run.log` (5 keys), server down: median",
            f"{statistics.median(down_medians):.2f} µs",
            "",
        ),
        ("`run.log` (5 keys), server down: p99", f"{statistics.median(down_p99s):.2f} µs", ""),
        ("`run.log` (5 keys), server down: mean", f"{statistics.median(down_means):.2f} µs", ""),
    ]
    if mlflow_medians:
        rows += [
            (
                "`mlflow.log_metrics` (5 keys), same server, MLflow 3.17.2 client: median",
                f"{statistics.median(mlflow_medians):,.0f} µs",
                "",
            ),
            (
                "`mlflow.log_metrics` (5 keys), same server: p99",
                f"{statistics.median(mlflow_p99s):,.0f} µs",
                "",
            ),
        ]
    table = "| measure | value | target |\n|---|---|---|\n" + "".join(
        f"| {name} | {value} | {target} |\n" for name, value, target in rows
    )
    print()
    print(table)
    if args.no_write:
        return
    section = (
        f"{SECTION_START}\n## Python client (`python bench/client.py`)\n\n"
        f"Medians of {args.rounds} rounds of {args.calls:,} `run.log` calls with a 5-key dict, "
        "each call timed alone in the training thread, back to back (the worst case: past the "
        "memory bound the training thread batches waiting calls itself, which the mean shows). "
        "End to end is the points logged divided "
        "by the time from the first `log` until `finish()` returned with all of them stored, in "
        "an embedded server (`trackboard server`, SQLite) on the same machine. "
        '"Server down" logs to a port nobody listens on: the points go to the spool.\n\n'
        f"{machine()}\n{table}{SECTION_END}\n"
    )
    write_section(section)
    print(f"written to {REPORT.relative_to(ROOT)}")


if __name__ == "__main__":
    main()
