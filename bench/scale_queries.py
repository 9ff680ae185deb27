"""The query table of issue 18 §3 over a loaded plan, through the v1 API: the search shapes
over the largest experiment and across a project, the first page of runs, a run page, the
longest series downsampled, the experiments page with counts, the dashboard aggregation.

Searches and histories are computed on every request (the cache only keeps the last answer
for outages); the experiments list and the dashboard aggregation are cached, so each of
their samples asks for a query not asked before (another page size, another day window):
every sample is a cache miss, what a user meets first."""

import asyncio
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

import httpx

from bench.api import Check, drive
from bench.report import median, percentile
from bench.scale_plan import LONG_KEY, PROJECT_EXPERIMENTS, Plan
from bench.search_shapes import shapes

# Targets of issue 18 §3, in ms: p95 for search, server time for the others.
SEARCH_TARGET_MS = 100
RUN_PAGE_TARGET_MS = 150
HISTORY_TARGET_MS = 100
EXPERIMENTS_PAGE_TARGET_MS = 100
# Past this, a query is not repeated: its figure is one sample.
SLOW_MS = 10_000


@dataclass
class QueryRow:
    name: str
    samples_ms: list[float]
    target_ms: float | None
    # CPU time of the server and of PostgreSQL per sample, when measured: what a sample
    # costs whatever else the shared machine runs meanwhile.
    cpu_ms: float | None = None

    @property
    def p95(self) -> float:
        return percentile(self.samples_ms, 95)

    def summary(self) -> str:
        """Samples, p50 / p95 ms."""
        return f"{len(self.samples_ms)}, {median(self.samples_ms):.1f} / {self.p95:.1f}"


def ok(response: httpx.Response) -> Check:
    return response.raise_for_status


async def timed(
    name: str,
    repeats: int,
    target_ms: float | None,
    call: Callable[[int], Awaitable[Check]],
    cpu: Callable[[], float] | None = None,
) -> QueryRow:
    """`repeats` samples one after another; one slower than SLOW_MS ends the row. `cpu`:
    the CPU seconds the server side has used so far."""
    samples: list[float] = []
    cpu_start = cpu() if cpu else 0.0

    def sample(i: int) -> Callable[[int], Awaitable[Check]]:
        async def once(_: int) -> Check:
            return await call(i)

        return once

    for i in range(repeats):
        # drive() runs the response's check after the clock stops.
        result = await drive(name, 1, 1, sample(i))
        samples.append(result.seconds[0] * 1000)
        if samples[-1] > SLOW_MS:
            break
    cpu_ms = (cpu() - cpu_start) * 1000 / len(samples) if cpu else None
    return QueryRow(name, samples, target_ms, cpu_ms)


async def query_table(
    http: httpx.AsyncClient,
    plan: Plan,
    experiment_ids: list[int],
    repeats: int,
    only: str = "",
    cpu: Callable[[], float] | None = None,
) -> list[QueryRow]:
    """The table's rows; with `only`, just those whose name contains it; with `cpu`, the
    server side's CPU time per sample."""
    largest, size = experiment_ids[0], plan.experiment_runs[0]
    project = experiment_ids[:PROJECT_EXPERIMENTS]  # project 0: the largest experiments
    project_runs = sum(plan.experiment_runs[:PROJECT_EXPERIMENTS])
    long_run = plan.run(0, 0)
    rows: list[QueryRow] = []

    async def measure(
        name: str, times: int, target_ms: float | None, call: Callable[[int], Awaitable[Check]]
    ) -> None:
        if only in name:
            rows.append(await timed(name, times, target_ms, call, cpu))

    def search(
        ids: list[int], filter_text: str | None, order_by: list[str]
    ) -> Callable[[int], Awaitable[Check]]:
        body = {"experiment_ids": ids, "filter": filter_text, "order_by": order_by, "limit": 100}

        async def call(_: int) -> Check:
            return ok(await http.post("/api/v1/runs/search", json=body))

        return call

    for scope, ids, runs in (
        (f"largest experiment ({size:,} runs)", [largest], size),
        (f"project ({len(project):,} experiments, {project_runs:,} runs)", project, project_runs),
    ):
        for shape in shapes(runs):
            await measure(
                f"search {scope}: {shape.name}",
                repeats,
                SEARCH_TARGET_MS,
                search(ids, shape.filter, list(shape.order_by)),
            )
    await measure(
        f"first page of runs, largest experiment ({size:,} runs)",
        repeats,
        SEARCH_TARGET_MS,
        search([largest], None, ["attributes.start_time DESC"]),
    )

    async def run_page(_: int) -> Check:
        keys = [LONG_KEY, "acc", "loss", "val_loss"]
        responses = await asyncio.gather(
            http.get(f"/api/v1/runs/{long_run.id}"),
            *(
                http.get(f"/api/v1/runs/{long_run.id}/metrics/{key}", params={"max_points": 1000})
                for key in keys
            ),
        )

        def check() -> None:
            for response in responses:
                response.raise_for_status()

        return check

    await measure(
        "run page: run + 4 histories (1,000 points each)", repeats, RUN_PAGE_TARGET_MS, run_page
    )

    async def long_history(_: int) -> Check:
        response = await http.get(
            f"/api/v1/runs/{long_run.id}/metrics/{LONG_KEY}", params={"max_points": 2000}
        )
        return ok(response)

    await measure(
        f"{plan.long_series_points:,}-point series, max_points=2000",
        repeats,
        HISTORY_TARGET_MS,
        long_history,
    )

    async def experiments_page(i: int) -> Check:
        # The page's one request: the list carries each experiment's run counts. Each
        # sample's page size is new to the cache.
        response = await http.get("/api/v1/experiments", params={"limit": 100 - i})

        def check() -> None:
            response.raise_for_status()
            listed = response.json()["experiments"]
            if not listed or any("run_count" not in e for e in listed):
                raise RuntimeError("the experiments list came without run counts")

        return check

    await measure(
        "experiments page: list with run counts (uncached)",
        min(repeats, 30),
        EXPERIMENTS_PAGE_TARGET_MS,
        experiments_page,
    )

    async def aggregation(i: int) -> Check:
        response = await http.get(
            f"/api/v1/experiments/{largest}/dashboard",
            params={"metric": "acc", "days": 100 + i},
        )
        return ok(response)

    await measure(
        "dashboard aggregation, largest experiment, best by acc (uncached)",
        repeats,
        None,
        aggregation,
    )

    return rows
