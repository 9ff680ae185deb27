"""The retention policy: one parser for durations and tags, per-experiment overrides of the
server default, tags refused at the door when they do not parse, and the periodic job."""

import asyncio
from pathlib import Path

import httpx
import pytest
from fastapi import FastAPI

from tests.retention.builders import (
    DAY_MS,
    database,
    delete_run,
    full_run,
    new_experiment,
    now_ms,
    rows_of_run,
)
from trackboard.server.app import create_app
from trackboard.server.artifacts.store import LocalArtifactStore
from trackboard.server.config import Settings
from trackboard.server.errors import InvalidParameter
from trackboard.server.retention.job import RetentionJob
from trackboard.server.retention.policy import (
    DELETED_DAYS_TAG,
    DOWNSAMPLE_DAYS_TAG,
    MAX_POINTS_TAG,
    RetentionPolicy,
    check_policy_tags,
    parse_duration_ms,
)
from trackboard.server.retention.service import apply_policy


@pytest.mark.parametrize(
    ("text", "ms"),
    [
        ("30d", 30 * DAY_MS),
        ("1d2h3m4s", DAY_MS + 2 * 3_600_000 + 3 * 60_000 + 4_000),
        ("1.5d", DAY_MS * 3 // 2),
        ("12H", 12 * 3_600_000),
        ("0s", 0),
        (".5m", 30_000),
    ],
)
def test_durations_read_like_mlflow_gc(text: str, ms: int) -> None:
    assert parse_duration_ms(text) == ms


@pytest.mark.parametrize("text", ["", "30", "d", "3x", "1d1d", "-1d", "1d 2h", "1e3s"])
def test_other_durations_are_refused(text: str) -> None:
    with pytest.raises(InvalidParameter):
        parse_duration_ms(text)


def test_tags_override_the_default_and_off_turns_a_rule_off() -> None:
    default = RetentionPolicy.of_days(30, 90, 1_000)
    policy = default.overridden({DELETED_DAYS_TAG: "7", DOWNSAMPLE_DAYS_TAG: "off"})
    assert policy == RetentionPolicy(7 * DAY_MS, None, 1_000)
    assert default.overridden({MAX_POINTS_TAG: "200"}).max_points == 200
    assert default.overridden({"other": "x"}) == default


@pytest.mark.parametrize(
    "tags",
    [
        {DELETED_DAYS_TAG: "soon"},
        {DELETED_DAYS_TAG: "-3"},
        {DELETED_DAYS_TAG: "nan"},
        {MAX_POINTS_TAG: "10"},
        {MAX_POINTS_TAG: "1.5"},
        {"trackboard.retention.deleted_day": "3"},
    ],
)
def test_tags_that_do_not_parse_are_refused(tags: dict[str, str]) -> None:
    with pytest.raises(InvalidParameter):
        check_policy_tags(tags)


async def test_a_bad_retention_tag_is_a_400_through_both_doors(client: httpx.AsyncClient) -> None:
    created = await client.post(
        "/api/v1/experiments", json={"name": "bad", "tags": {DELETED_DAYS_TAG: "soon"}}
    )
    assert created.status_code == 400
    experiment = await new_experiment(client)
    mlflow = await client.post(
        "/api/2.0/mlflow/experiments/set-experiment-tag",
        json={"experiment_id": str(experiment), "key": MAX_POINTS_TAG, "value": "3"},
    )
    assert mlflow.status_code == 400
    good = await client.patch(
        f"/api/v1/experiments/{experiment}", json={"tags": {DELETED_DAYS_TAG: "off"}}
    )
    assert good.status_code == 200, good.text


async def test_experiment_policies_override_the_server_default(
    client: httpx.AsyncClient, app: FastAPI, tmp_path: Path
) -> None:
    short = await new_experiment(client, tags={DELETED_DAYS_TAG: "1"})
    off = await new_experiment(client, tags={DELETED_DAYS_TAG: "off"})
    plain = await new_experiment(client)
    runs = {
        ("short", 5): await full_run(client, short),
        ("off", 40): await full_run(client, off),
        ("plain", 5): await full_run(client, plain),
        ("plain", 40): await full_run(client, plain),
    }
    for (_, days), run_id in runs.items():
        await delete_run(client, app, run_id, days_ago=days)

    store = LocalArtifactStore(tmp_path / "artifacts")
    report = await apply_policy(database(app), store, RetentionPolicy.of_days(30, None), now_ms())

    assert report.purge.runs == 2
    gone = {name for name, run_id in runs.items() if (await rows_of_run(app, run_id))["runs"] == 0}
    assert gone == {("short", 5), ("plain", 40)}


async def test_the_periodic_job_applies_the_settings_policy(
    client: httpx.AsyncClient, app: FastAPI, settings: Settings
) -> None:
    experiment = await new_experiment(client)
    old, recent = await full_run(client, experiment), await full_run(client, experiment)
    await delete_run(client, app, old, days_ago=10)
    await delete_run(client, app, recent, days_ago=1)
    configured = settings.model_copy(update={"retention_deleted_days": 7.0})

    await RetentionJob.from_settings(configured, database(app)).run_once()

    assert (await rows_of_run(app, old))["runs"] == 0
    assert (await rows_of_run(app, recent))["runs"] == 1
    assert not (settings.home / "artifacts" / str(experiment) / old).exists()


async def test_the_embedded_server_runs_the_job_beside_its_ingest_loop(settings: Settings) -> None:
    configured = settings.model_copy(
        update={"retention_deleted_days": 7.0, "retention_interval_s": 0.2}
    )
    application = create_app(configured)
    async with application.router.lifespan_context(application):
        transport = httpx.ASGITransport(app=application)
        async with httpx.AsyncClient(transport=transport, base_url="http://localhost") as client:
            experiment = await new_experiment(client)
            old = await full_run(client, experiment)
            await delete_run(client, application, old, days_ago=10)
            for _ in range(100):
                if (await rows_of_run(application, old))["runs"] == 0:
                    break
                await asyncio.sleep(0.1)
            assert (await rows_of_run(application, old))["runs"] == 0
