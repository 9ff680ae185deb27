"""`trackboard gc`: purge what was deleted long ago, thin old series, give space back.

Like `mlflow gc`: deleted runs (and experiments) go for good with their artifacts. Without
ages or ids it applies the configured policy (TRACKBOARD_RETENTION_* and the experiments'
`trackboard.retention.*` tags), as the server's periodic job does. Straight on the database
(TRACKBOARD_DATABASE_URL, default the embedded SQLite file), like `db` and `users`.
"""

from __future__ import annotations

import asyncio
import time
from typing import TYPE_CHECKING, Annotated

import typer

if TYPE_CHECKING:
    from rich.console import Console

    from trackboard.server.artifacts.store import ArtifactStore
    from trackboard.server.backends.database import Database
    from trackboard.server.config import Settings
    from trackboard.server.retention.service import Pass, Plan, Report


def _split(text: str | None) -> list[str] | None:
    if text is None:
        return None
    return [part.strip() for part in text.split(",") if part.strip()]


def _experiment_ids(text: str | None) -> list[int] | None:
    parts = _split(text)
    if parts is None:
        return None
    if not all(part.isdigit() for part in parts):
        raise typer.BadParameter("comma-separated experiment ids", param_hint="--experiment-ids")
    return [int(part) for part in parts]


def _duration_ms(text: str | None, option: str) -> int | None:
    from trackboard.server.errors import InvalidParameter
    from trackboard.server.retention.policy import parse_duration_ms

    if text is None:
        return None
    try:
        return parse_duration_ms(text)
    except InvalidParameter as error:
        raise typer.BadParameter(error.message, param_hint=option) from None


def gc(
    older_than: Annotated[
        str | None,
        typer.Option(
            help="Purge runs and experiments deleted longer ago than this (#d#h#m#s: 30d, "
            "12h, 1d2h3m4s). With only --run-ids/--experiment-ids: any deleted one."
        ),
    ] = None,
    experiment_ids: Annotated[
        str | None, typer.Option(help="Only these experiments (comma-separated ids).")
    ] = None,
    run_ids: Annotated[
        str | None,
        typer.Option(help="Only these runs (comma-separated ids); each must be deleted."),
    ] = None,
    downsample_older_than: Annotated[
        str | None,
        typer.Option(
            help="Thin series of finished runs whose newest point is older than this "
            "(#d#h#m#s) to --max-points, keeping each bucket's first, last, min and max."
        ),
    ] = None,
    max_points: Annotated[
        int | None,
        typer.Option(
            min=50, help="Points a thinned series keeps (default TRACKBOARD_RETENTION_MAX_POINTS)."
        ),
    ] = None,
    dry_run: Annotated[
        bool, typer.Option("--dry-run", help="Print what would go; change nothing.")
    ] = False,
    vacuum: Annotated[
        bool,
        typer.Option(
            "--vacuum",
            help="Return the freed space to the OS: SQLite VACUUM, PostgreSQL VACUUM FULL "
            "(locks each table while it is rewritten; see docs/operations.md).",
        ),
    ] = False,
) -> None:
    """Permanently delete runs and experiments deleted long ago (with their artifacts) and
    thin old metric series."""
    from rich.console import Console

    from trackboard.server.config import Settings
    from trackboard.server.retention.repository import Scope
    from trackboard.server.retention.service import Pass

    settings = Settings()
    console = Console()
    now_ms = int(time.time() * 1000)
    purge_age = _duration_ms(older_than, "--older-than")
    thin_age = _duration_ms(downsample_older_than, "--downsample-older-than")
    experiments = _experiment_ids(experiment_ids)
    runs = _split(run_ids)
    explicit: Pass | None = None
    if purge_age is not None or thin_age is not None or experiments or runs:
        if purge_age is None and thin_age is None:
            # Ids alone, as in `mlflow gc --run-ids`: every deleted one named goes.
            purge_age = 0
        explicit = Pass(
            Scope(experiment_ids=experiments, run_ids=runs),
            None if purge_age is None else now_ms - purge_age,
            None if thin_age is None else now_ms - thin_age,
            max_points or settings.retention_max_points,
        )
    asyncio.run(_gc(settings, console, explicit, now_ms, dry_run=dry_run, vacuum=vacuum))


async def _gc(
    settings: Settings,
    console: Console,
    explicit: Pass | None,
    now_ms: int,
    *,
    dry_run: bool,
    vacuum: bool,
) -> None:
    from trackboard.server.backends.database import Database
    from trackboard.server.migrate import upgrade_database
    from trackboard.server.retention.job import default_policy
    from trackboard.server.retention.service import policy_passes, refused_run_ids

    if settings.is_embedded:
        settings.home.mkdir(parents=True, exist_ok=True)
    database = Database.connect(settings.resolved_database_url(), pool_size=1)
    try:
        if settings.should_migrate_on_start():
            await upgrade_database(database.engine)
        if explicit is not None:
            passes = [explicit]
            run_ids = explicit.scope.run_ids
            if run_ids and explicit.purge_before_ms is not None:
                refused = await refused_run_ids(database, list(run_ids), explicit.purge_before_ms)
                if refused:
                    for reason in refused:
                        console.print(f"[red]error:[/] {reason}")
                    raise typer.Exit(1)
        else:
            passes = await policy_passes(database, default_policy(settings), now_ms)
            if not passes:
                console.print(
                    "No retention policy is set (TRACKBOARD_RETENTION_DELETED_DAYS, "
                    "TRACKBOARD_RETENTION_DOWNSAMPLE_DAYS or trackboard.retention.* "
                    "experiment tags): nothing to do. Pass --older-than 0s to purge every "
                    "deleted run."
                )
                return
        await _run_passes(settings, console, database, passes, dry_run=dry_run, vacuum=vacuum)
    finally:
        await database.dispose()


async def _run_passes(
    settings: Settings,
    console: Console,
    database: Database,
    passes: list[Pass],
    *,
    dry_run: bool,
    vacuum: bool,
) -> None:
    from trackboard.server.artifacts.opening import open_artifact_store
    from trackboard.server.retention import service
    from trackboard.server.retention.space import reclaim_space, storage_bytes

    plans = [await service.plan(database, work) for work in passes]
    for work, plan in zip(passes, plans, strict=True):
        _print_plan(console, work, plan, dry_run=dry_run)
    if dry_run:
        console.print("dry run: nothing was changed")
        return
    before = await storage_bytes(database.engine)
    total = service.Report()
    async with open_artifact_store(settings) as store:
        for work, plan in zip(passes, plans, strict=True):
            total.add(await _run_with_progress(database, store, work, plan))
    changed = total.purge.runs or total.purge.experiments or total.thinning.series
    if database.is_sqlite:
        if vacuum:
            await reclaim_space(database.engine, full=True)
    elif changed or vacuum:
        # Plain VACUUM makes the space reusable without blocking; FULL returns it.
        await reclaim_space(database.engine, full=vacuum)
    after = await storage_bytes(database.engine)
    _print_report(console, total, before, after)


async def _run_with_progress(
    database: Database, store: ArtifactStore, work: Pass, plan: Plan
) -> Report:
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TimeElapsedColumn

    from trackboard.server.retention import service

    with Progress(
        "[progress.description]{task.description}",
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
    ) as progress:
        tasks = {}
        if work.purge_before_ms is not None:
            tasks["runs"] = progress.add_task("purging runs", total=plan.runs)
            if work.scope.run_ids is None:
                tasks["experiments"] = progress.add_task(
                    "purging experiments", total=plan.experiments
                )
        if work.thin_before_ms is not None:
            tasks["series"] = progress.add_task("thinning series", total=plan.series)
        return await service.run(
            database,
            store,
            work,
            on_progress=lambda what, done: progress.advance(tasks[what], done),
        )


def _scope_text(work: Pass) -> str:
    scope = work.scope
    if scope.run_ids is not None:
        return f"runs {', '.join(scope.run_ids)}"
    if scope.experiment_ids is not None:
        return f"experiments {', '.join(str(i) for i in scope.experiment_ids)}"
    if scope.except_experiment_ids:
        return "every experiment without a policy of its own"
    return "every experiment"


def _age(now_ms: int, before_ms: int) -> str:
    seconds = (now_ms - before_ms) / 1000
    for unit, size in (("days", 86_400), ("hours", 3_600), ("minutes", 60)):
        if seconds >= size:
            return f"{seconds / size:.4g} {unit}"
    return f"{seconds:.0f} seconds"


def _print_plan(console: Console, work: Pass, plan: Plan, *, dry_run: bool) -> None:
    now_ms = int(time.time() * 1000)
    verb = "would" if dry_run else "will"
    console.print(f"[bold]{_scope_text(work)}[/]")
    if work.purge_before_ms is not None:
        console.print(
            f"  deleted more than {_age(now_ms, work.purge_before_ms)} ago: {verb} purge "
            f"{plan.runs:,} runs ({plan.points:,} metric points) and {plan.experiments:,} "
            "experiments, with their artifacts"
        )
        for run_id in plan.first_run_ids:
            console.print(f"    run {run_id}")
        if plan.runs > len(plan.first_run_ids):
            console.print(f"    … and {plan.runs - len(plan.first_run_ids):,} more")
    if work.thin_before_ms is not None:
        console.print(
            f"  series older than {_age(now_ms, work.thin_before_ms)}: {verb} thin "
            f"{plan.series:,} series ({plan.series_points:,} points) to at most "
            f"{work.max_points:,} points each"
        )


def _mib(size: int) -> str:
    return f"{size / 2**20:,.1f} MiB"


def _print_report(
    console: Console, report: Report, before: dict[str, int], after: dict[str, int]
) -> None:
    purge, thinning = report.purge, report.thinning
    console.print(
        f"purged {purge.runs:,} runs ({purge.points:,} points), {purge.experiments:,} "
        f"experiments, {purge.artifact_folders:,} artifact folders"
    )
    if purge.foreign_artifacts:
        console.print(
            f"  {purge.foreign_artifacts:,} runs had artifacts outside Trackboard's store; "
            "those files were left where they are"
        )
    console.print(
        f"thinned {thinning.series:,} series from {thinning.points_before:,} to "
        f"{thinning.points_after:,} points"
    )
    console.print(
        f"database on disk: {_mib(sum(before.values()))} before, {_mib(sum(after.values()))} after"
    )
