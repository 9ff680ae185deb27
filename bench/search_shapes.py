"""Run search over many query shapes on freshly written data, PostgreSQL and SQLite.

    python bench/search_shapes.py [--store sqlite|postgres|both] [--sizes 10000,100000]
                                  [--repeats 15] [--no-write]

For each store and size: a new experiment of that many runs (params, tags, metric
summaries, mixed statuses) is inserted and queried at once, with no ANALYZE and with
PostgreSQL's autovacuum left to itself (it does not get to run in between), which is what a
user searching a sweep they just logged sees. Each shape is one page of 100 runs through the
service layer exactly as `POST /api/v1/runs/search` does it (`search.service.search_runs`
then `runs.service.describe_runs`, in one read transaction). Prints shape x size x store ->
p50/p95 ms and writes docs/benchmarks-search.md (machine, date).
"""

import argparse
import asyncio
import gc
import math
import random
import re
import sys
import tempfile
import time
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import asyncpg
from sqlalchemy import insert, text
from sqlalchemy.exc import DBAPIError

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.report import machine, median, percentile
from trackboard.server.backends.database import Database, create_engine
from trackboard.server.migrate import upgrade_database
from trackboard.server.models import Experiment, MetricSummary, Run, RunParam, RunTag
from trackboard.server.runs import service as runs
from trackboard.server.search import service as search

POSTGRES = "postgresql://postgres@127.0.0.1:5432"
REPORT = Path(__file__).resolve().parent.parent / "docs" / "benchmarks-search.md"
HEADER = (
    "# Benchmarks: run search and MLflow history\n\n"
    "Sections are written by `python bench/search_shapes.py` and "
    "`python bench/mlflow_history.py`.\n"
)
START = 1_700_000_000_000
STATUSES = ("FINISHED", "FINISHED", "FINISHED", "FAILED", "RUNNING")
TEAMS = ("nlp", "vision", "speech", "rl", "infra")


@dataclass(frozen=True)
class Shape:
    name: str
    filter: str | None
    order_by: tuple[str, ...] = ()


def shapes(size: int) -> list[Shape]:
    """The query shapes; bounds that depend on the size keep their selectivity constant."""
    middle = START + size // 2
    return [
        Shape("metric filter", "metrics.acc > 0.9"),
        Shape("param =", "params.lr = '0.01'"),
        Shape("tag =", "tags.team = 'nlp'"),
        Shape("status =", "attributes.status = 'FAILED'"),
        Shape("start_time >", f"attributes.start_time > {middle}"),
        Shape("run_name LIKE", "attributes.run_name LIKE 'run-12%'"),
        Shape(
            "metric + param, sort metric",
            "metrics.acc > 0.5 and params.lr = '0.01'",
            ("metrics.loss ASC",),
        ),
        Shape("two metrics", "metrics.acc > 0.5 and metrics.loss < 0.2"),
        Shape("tag IN", "tags.team IN ('nlp', 'vision')"),
        Shape("param LIKE", "params.optimizer LIKE 'ad%'"),
        Shape("tag ILIKE", "tags.team ILIKE 'NL%'"),
        Shape("sort metric ASC, nulls", None, ("metrics.val_loss ASC",)),
        Shape("sort metric DESC, nulls", None, ("metrics.val_loss DESC",)),
        Shape("sort param", None, ("params.batch_size DESC",)),
        Shape("sort run_name", None, ("attributes.run_name ASC",)),
        Shape(
            "3 filters + sort",
            "tags.team = 'nlp' and attributes.status = 'FINISHED' and metrics.acc > 0.3",
            ("metrics.acc DESC",),
        ),
        Shape(
            "param + tag, sort param",
            "params.lr = '0.001' and tags.env != 'dev'",
            ("params.optimizer ASC",),
        ),
        Shape("no filter, sort metric", None, ("metrics.loss ASC",)),
        Shape("no filter, no sort", None),
        Shape("matches nothing", "metrics.acc > 2"),
        Shape(
            "matches everything",
            "metrics.acc >= 0 and attributes.status != 'KILLED'",
            ("metrics.loss DESC",),
        ),
    ]


async def seed(database_url: str, experiment_id: int, count: int) -> None:
    """`count` runs: params lr/optimizer/batch_size, tags team/env, summaries acc and loss
    on every run and val_loss on a third of them (a sort key with NULLs)."""
    engine = create_engine(database_url)
    rng = random.Random(experiment_id)
    try:
        async with engine.begin() as connection:
            await connection.execute(
                insert(Experiment),
                [
                    {
                        "id": experiment_id,
                        "name": f"shapes-{experiment_id}",
                        "lifecycle_stage": "active",
                        "creation_time": 0,
                        "last_update_time": 0,
                    }
                ],
            )
        for start in range(0, count, 10_000):
            run_rows, params, tags, summaries = [], [], [], []
            for i in range(start, min(count, start + 10_000)):
                run_id = uuid.uuid4().hex
                run_rows.append(
                    {
                        "id": run_id,
                        "experiment_id": experiment_id,
                        "name": f"run-{i}",
                        "status": rng.choice(STATUSES),
                        "start_time": START + i,
                        "end_time": None,
                        "user": "bench",
                        "lifecycle_stage": "active",
                    }
                )
                for key, value in (
                    ("lr", rng.choice(["0.1", "0.01", "0.001"])),
                    ("optimizer", rng.choice(["adam", "sgd", "adamw"])),
                    ("batch_size", str(rng.choice([16, 32, 64, 128]))),
                ):
                    params.append({"run_id": run_id, "key": key, "value": value})
                for key, value in (
                    ("team", rng.choice(TEAMS)),
                    ("env", rng.choice(["dev", "prod"])),
                ):
                    tags.append({"run_id": run_id, "key": key, "value": value})
                metrics = [("acc", rng.random()), ("loss", rng.random())]
                if i % 3 == 0:
                    metrics.append(("val_loss", rng.random()))
                for key, number in metrics:
                    summaries.append(
                        {
                            "run_id": run_id,
                            "key": key,
                            "experiment_id": experiment_id,
                            "last_value": number,
                            "last_step": 100,
                            "last_timestamp": 0,
                            "min_value": number,
                            "max_value": number,
                            "count": 100,
                        }
                    )
            async with engine.begin() as connection:
                await connection.execute(insert(Run), run_rows)
                await connection.execute(insert(RunParam), params)
                await connection.execute(insert(RunTag), tags)
                await connection.execute(insert(MetricSummary), summaries)
    finally:
        await engine.dispose()


async def search_page(
    database: Database, experiment_id: int, shape: Shape, timeout_s: float | None = None
) -> int:
    """What the v1 route does for one page of 100: search, then describe the runs."""
    async with database.transaction(write=False) as session:
        if timeout_s is not None and not database.is_sqlite:
            await session.execute(text(f"SET LOCAL statement_timeout = {int(timeout_s * 1000)}"))
        page = await search.search_runs(
            session,
            experiment_ids=[experiment_id],
            filter_text=shape.filter,
            order_by=list(shape.order_by),
            limit=100,
        )
        return len(await runs.describe_runs(session, page.runs))


async def measure(
    database_url: str, experiment_id: int, size: int, repeats: int, timeout_s: float
) -> dict[str, list[float]]:
    """Samples in ms per shape; a shape slower than `timeout_s` once is not repeated, and a
    query cancelled at `timeout_s` (PostgreSQL) counts as infinitely slow."""
    database = Database.connect(database_url, random_page_cost=1.1)
    timings: dict[str, list[float]] = {}
    try:
        for shape in shapes(size):
            samples: list[float] = []
            for _ in range(repeats):
                started = time.perf_counter()
                try:
                    await search_page(database, experiment_id, shape, timeout_s)
                except DBAPIError:
                    samples.append(math.inf)
                    break
                samples.append((time.perf_counter() - started) * 1000)
                if samples[-1] > timeout_s * 1000:
                    break
            timings[shape.name] = samples
    finally:
        await database.dispose()
    return timings


async def bench_store(
    store: str, sizes: Sequence[int], repeats: int, timeout_s: float
) -> dict[int, dict[str, list[float]]]:
    home = Path(tempfile.mkdtemp(prefix=f"tb-shapes-{store}-"))
    database_name = f"tb_shapes_{uuid.uuid4().hex[:10]}"
    if store == "postgres":
        admin = await asyncpg.connect(f"{POSTGRES}/test")
        await admin.execute(f'CREATE DATABASE "{database_name}"')
        await admin.close()
        database_url = f"postgresql+asyncpg://postgres@127.0.0.1:5432/{database_name}"
    else:
        database_url = f"sqlite+aiosqlite:///{home / 'trackboard.db'}"
    engine = create_engine(database_url)
    await upgrade_database(engine)
    await engine.dispose()
    results: dict[int, dict[str, list[float]]] = {}
    try:
        for index, size in enumerate(sizes):
            experiment_id = 100 + index
            started = time.perf_counter()
            await seed(database_url, experiment_id, size)
            print(
                f"{store}: seeded {size:,} runs in {time.perf_counter() - started:.1f} s",
                flush=True,
            )
            results[size] = await measure(database_url, experiment_id, size, repeats, timeout_s)
            for name, samples in results[size].items():
                print(f"  {store} {size:>7,} {name:<28} {cell(samples)}", flush=True)
    finally:
        if store == "postgres":
            admin = await asyncpg.connect(f"{POSTGRES}/test")
            await admin.execute(f'DROP DATABASE IF EXISTS "{database_name}" WITH (FORCE)')
            await admin.close()
    return results


def cell(samples: list[float]) -> str:
    """p50 / p95 in ms; a shape stopped after a timeout or an over-long sample says so."""
    if math.isinf(samples[-1]):
        return "timed out"
    if len(samples) < 3:
        return f"{samples[-1] / 1000:.1f} s (stopped)"
    return f"{median(samples):.1f} / {percentile(samples, 95):.1f}"


def table(results: dict[str, dict[int, dict[str, list[float]]]]) -> str:
    columns = [(store, size) for store, by_size in results.items() for size in by_size]
    header = (
        "| shape | "
        + " | ".join(f"{store} {size:,} p50 / p95 ms" for store, size in columns)
        + " |"
    )
    lines = [header, "|---|" + "---:|" * len(columns)]
    names = next(iter(next(iter(results.values())).values())).keys()
    for name in names:
        cells = []
        for store, size in columns:
            samples = results[store][size][name]
            cells.append(cell(samples))
        lines.append(f"| {name} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--store", choices=["sqlite", "postgres", "both"], default="both")
    parser.add_argument("--sizes", default="10000,100000")
    parser.add_argument("--repeats", type=int, default=15)
    parser.add_argument("--timeout-s", type=float, default=10.0)
    parser.add_argument("--no-write", action="store_true", help="print only")
    args = parser.parse_args()
    sizes = [int(size) for size in args.sizes.split(",")]
    stores = ["postgres", "sqlite"] if args.store == "both" else [args.store]
    gc.collect()
    gc.freeze()
    results = {
        store: asyncio.run(bench_store(store, sizes, args.repeats, args.timeout_s))
        for store in stores
    }
    rendered = table(results)
    print(rendered)
    if args.no_write:
        return
    shape_list = "\n".join(
        f"- {shape.name}: `{shape.filter or '(none)'}`"
        + (f", order by `{', '.join(shape.order_by)}`" if shape.order_by else "")
        for shape in shapes(sizes[0])
    )
    write_section(
        "search-shapes",
        f"Command: `python bench/search_shapes.py --sizes {args.sizes} --repeats "
        f"{args.repeats}`. Per store and size, a new experiment of that many runs is "
        "inserted (3 params, 2 tags, 2-3 metric summaries per run) and searched at once: no "
        "ANALYZE, and PostgreSQL's autovacuum (off on this machine) does not run in between. "
        "Each figure is one page of 100 runs through the service layer as "
        "`POST /api/v1/runs/search` builds it (search, then params/tags/metrics of the "
        f"page), {args.repeats} times in a row; p50 / p95 in ms. Later sizes are inserted "
        "into the same database beside the earlier ones.\n\n"
        f"{rendered}\n\nShapes (bounds on start_time scale with the size):\n\n{shape_list}",
    )
    print(f"wrote {REPORT}")


def write_section(name: str, body: str) -> None:
    """Replace (or add) section `name` of docs/benchmarks-search.md, keeping the others, with
    the machine and the date (as `bench.report.write_section` does for benchmarks.md)."""
    text = REPORT.read_text() if REPORT.exists() else HEADER
    stamp = time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime())
    section = (
        f"<!-- bench:{name} -->\n## {name}\n\n"
        f"Measured {stamp} on {machine()}.\n\n{body.strip()}\n<!-- /bench:{name} -->"
    )
    pattern = re.compile(
        rf"<!-- bench:{re.escape(name)} -->.*?<!-- /bench:{re.escape(name)} -->", re.S
    )
    if pattern.search(text):
        text = pattern.sub(lambda _: section, text)
    else:
        text = f"{text.rstrip()}\n\n{section}\n"
    REPORT.write_text(text)


if __name__ == "__main__":
    main()
