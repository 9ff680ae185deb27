"""`trackboard gc` on both stores: a dry run prints what would go and changes nothing; the
real run purges, reports and gives space back; named runs must be deleted."""

import asyncio

import httpx
from fastapi import FastAPI
from typer.testing import CliRunner, Result

from tests.retention.builders import delete_run, full_run, new_experiment, rows_of_run
from trackboard.cli.main import app as cli
from trackboard.server.config import Settings


async def invoke(settings: Settings, *args: str) -> Result:
    env = {
        "TRACKBOARD_HOME": str(settings.home),
        "TRACKBOARD_DATABASE_URL": settings.resolved_database_url(),
        "TRACKBOARD_LOG_JSON": "false",
        "COLUMNS": "200",
    }
    # The command runs its own event loop: in a thread, beside the test's.
    return await asyncio.to_thread(CliRunner().invoke, cli, ["gc", *args], env=env)


async def test_dry_run_prints_what_would_go_and_changes_nothing(
    client: httpx.AsyncClient, app: FastAPI, settings: Settings
) -> None:
    experiment = await new_experiment(client)
    old, kept = await full_run(client, experiment), await full_run(client, experiment)
    await delete_run(client, app, old, days_ago=40)
    before = await rows_of_run(app, old)
    folder = settings.home / "artifacts" / str(experiment) / old

    dry = await invoke(settings, "--older-than", "30d", "--dry-run")

    assert dry.exit_code == 0, dry.output
    assert "would purge 1 runs (100 metric points)" in dry.output
    assert old in dry.output
    assert kept not in dry.output
    assert "nothing was changed" in dry.output
    assert await rows_of_run(app, old) == before
    assert folder.is_dir()

    done = await invoke(settings, "--older-than", "30d", "--vacuum")

    assert done.exit_code == 0, done.output
    assert "purged 1 runs (100 points), 0 experiments, 1 artifact folders" in done.output
    assert "database on disk:" in done.output
    assert (await rows_of_run(app, old))["runs"] == 0
    assert not folder.exists()
    assert (await rows_of_run(app, kept))["runs"] == 1


async def test_named_runs_must_be_deleted(
    client: httpx.AsyncClient, app: FastAPI, settings: Settings
) -> None:
    experiment = await new_experiment(client)
    live = await full_run(client, experiment)
    refused = await invoke(settings, "--run-ids", f"{live},nosuchrun")
    assert refused.exit_code == 1
    assert f"run {live} is not deleted" in refused.output
    assert "run nosuchrun does not exist" in refused.output
    assert (await rows_of_run(app, live))["runs"] == 1


async def test_without_a_policy_or_ages_nothing_happens(settings: Settings) -> None:
    result = await invoke(settings)
    assert result.exit_code == 0, result.output
    assert "No retention policy is set" in result.output


async def test_a_bad_duration_is_a_usage_error(settings: Settings) -> None:
    result = await invoke(settings, "--older-than", "30 days")
    assert result.exit_code == 2
    assert "not a duration" in result.output


async def test_experiment_ids_alone_purge_its_deleted_runs_and_an_age_only_thins(
    client: httpx.AsyncClient, app: FastAPI, settings: Settings
) -> None:
    named, other = await new_experiment(client), await new_experiment(client)
    in_named, in_other = await full_run(client, named), await full_run(client, other)
    for run_id in (in_named, in_other):
        await delete_run(client, app, run_id, days_ago=0)

    thin_only = await invoke(
        settings, "--experiment-ids", str(named), "--downsample-older-than", "30d"
    )
    assert thin_only.exit_code == 0, thin_only.output
    assert (await rows_of_run(app, in_named))["runs"] == 1

    purged = await invoke(settings, "--experiment-ids", str(named))
    assert purged.exit_code == 0, purged.output
    assert (await rows_of_run(app, in_named))["runs"] == 0
    assert (await rows_of_run(app, in_other))["runs"] == 1
