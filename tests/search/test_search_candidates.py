"""A search read from candidates (a selective comparison's runs, or prefixes of the sort)
returns exactly the pages that evaluating the filter and sort on every run returns."""

import random
import uuid
from collections.abc import AsyncIterator

import pytest
from sqlalchemy import insert

from trackboard.server.backends.database import Database
from trackboard.server.models import Experiment, MetricSummary, Run, RunParam, RunTag
from trackboard.server.search import repository, service
from trackboard.server.search.filter_parser import parse_filter, parse_order

RUNS = 240
LONG = "x" * 250  # longer than the params/tags (key, value) index holds


@pytest.fixture
async def database(database_url: str) -> AsyncIterator[Database]:
    db = Database.connect(database_url)
    rng = random.Random(3)
    runs, params, tags, summaries = [], [], [], []
    for i in range(RUNS):
        run_id = uuid.uuid4().hex
        runs.append(
            {
                "id": run_id,
                "experiment_id": 1 + i % 2,
                "name": f"run-{i}",
                "status": rng.choice(["FINISHED", "FAILED", "RUNNING"]),
                # Ties in start_time too: the tie-breaker (id) decides.
                "start_time": 1000 + i // 3,
                "end_time": None,
                "user": "u",
                "lifecycle_stage": "deleted" if i % 17 == 0 else "active",
            }
        )
        params.append({"run_id": run_id, "key": "lr", "value": rng.choice(["0.1", "0.01"])})
        if i % 5:
            value = LONG + str(i % 3) if i % 23 == 0 else rng.choice(["a", "b", "c", "d"])
            params.append({"run_id": run_id, "key": "opt", "value": value})
        tags.append({"run_id": run_id, "key": "team", "value": rng.choice(["nlp", "cv"])})
        for key in ("acc", "loss"):
            if key == "loss" and i % 4 == 0:
                continue  # runs without the metric sort last
            # Few distinct values, so ties reach across prefix boundaries; NaN is NULL.
            number = None if i % 29 == 0 else round(rng.random(), 1)
            summaries.append(
                {
                    "run_id": run_id,
                    "key": key,
                    "experiment_id": 1 + i % 2,
                    "last_value": number,
                    "last_step": 0,
                    "last_timestamp": 0,
                    "min_value": number,
                    "max_value": number,
                    "count": 1,
                }
            )
    async with db.transaction() as session:
        for experiment_id in (1, 2):
            await session.execute(
                insert(Experiment),
                [
                    {
                        "id": experiment_id,
                        "name": f"e{experiment_id}",
                        "lifecycle_stage": "active",
                        "creation_time": 0,
                        "last_update_time": 0,
                    }
                ],
            )
        await session.execute(insert(Run), runs)
        await session.execute(insert(RunParam), params)
        await session.execute(insert(RunTag), tags)
        await session.execute(insert(MetricSummary), summaries)
    yield db
    await db.dispose()


SHAPES: list[tuple[str | None, list[str]]] = [
    (None, []),
    (None, ["metrics.loss ASC"]),
    (None, ["metrics.loss DESC", "params.lr ASC"]),
    (None, ["params.opt DESC"]),
    (None, ["params.opt ASC", "metrics.acc DESC"]),
    (None, ["tags.team ASC"]),
    (None, ["attributes.start_time ASC"]),
    (None, ["attributes.run_name DESC"]),
    ("metrics.acc > 0.5", []),
    ("metrics.acc > 0.5 and params.lr = '0.01'", ["metrics.loss ASC"]),
    ("metrics.acc >= 0.2 and metrics.loss < 0.6", ["metrics.acc DESC"]),
    ("params.lr = '0.1'", ["params.opt ASC"]),
    (f"params.opt = '{LONG}1'", []),
    ("params.opt IN ('a', 'c')", ["metrics.loss DESC"]),
    ("params.opt LIKE 'x%'", ["params.opt DESC"]),
    ("tags.team != 'nlp'", ["metrics.acc ASC"]),
    ("tags.team ILIKE 'N%'", []),
    ("params.opt IS NULL", ["metrics.loss ASC"]),
    ("attributes.status = 'FAILED'", []),
    ("attributes.status != 'RUNNING' and metrics.acc < 0.3", ["attributes.start_time DESC"]),
    ("attributes.start_time > 1030", ["metrics.acc DESC"]),
    ("attributes.run_name LIKE 'run-1%'", []),
    ("metrics.acc > 2", ["metrics.loss ASC"]),
    ("metrics.acc >= 0", ["metrics.loss DESC"]),
]


@pytest.mark.parametrize(("filter_text", "order_by"), SHAPES)
@pytest.mark.parametrize("lifecycle", ["active", "all"])
async def test_pages_equal_those_of_every_run_evaluated(
    database: Database, filter_text: str | None, order_by: list[str], lifecycle: str
) -> None:
    for experiment_ids in ([1], [1, 2]):
        async with database.transaction(write=False) as session:
            everything = await repository.select_runs(
                session,
                experiment_ids=experiment_ids,
                lifecycle_stages=service.LIFECYCLE_STAGES[lifecycle],
                comparisons=parse_filter(filter_text),
                order=parse_order(order_by),
                offset=0,
                limit=RUNS,
            )
            expected = [run.id for run in everything]
            for limit in (3, 11):
                paged: list[str] = []
                offset: int | None = 0
                while offset is not None:
                    page = await service.search_runs(
                        session,
                        experiment_ids=experiment_ids,
                        filter_text=filter_text,
                        order_by=order_by,
                        lifecycle=lifecycle,
                        offset=offset,
                        limit=limit,
                    )
                    paged += [run.id for run in page.runs]
                    offset = page.next_offset
                assert paged == expected, (experiment_ids, limit)
