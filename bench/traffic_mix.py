"""The seed's traffic mix (issue 18 §4) as a bounded open-loop load test against 2 API
instances + 2 workers of the distributed mode (PostgreSQL, Redis, RabbitMQ).

    .venv/bin/python -m bench.traffic_mix --duration 60 --multipliers 0.25,0.5,1

Not under `nice`: its servers would inherit the lower priority and, on a shared machine,
the figures would measure the other work's share of the cores.

Starts its own stack on loopback (a PostgreSQL database, a RabbitMQ vhost and a Redis key
prefix of its own, `trackboard server` instances on free ports, `trackboard worker`
processes), loads a modest data set through the v1 API (bench/scale_load.py, at
`--data-scale` of the seed), then runs the mix once per rate multiplier, lowest first, for
`--duration` seconds each, and stops at the first multiplier where a target is missed: the
one before it is the headroom. At multiplier 1: 1,000 users with a dashboard open (each a
WebSocket watching its experiment and one training run, and an action every 30 s on
average: the runs table, a run page, the experiments list, the experiment's dashboard), 100
training runs logging one batch a second (10 keys x 10 steps), each run finished after
`--run-lifetime-s` and a new one created. Stops everything, drops what it created, prints
the table and writes docs/benchmarks-traffic.md (unless --no-write).
"""

import argparse
import asyncio
import os
import shutil
import uuid
from dataclasses import dataclass
from pathlib import Path

import httpx

from bench.ingest import AMQP, PG, admin, migrate, rabbitmqctl
from bench.report import percentile, write_section
from bench.scale_load import (
    State,
    create_experiments,
    create_runs,
    log_points,
    progress_bar,
    wait_until_stored,
)
from bench.scale_plan import Plan
from bench.traffic_load import ACTIONS, DataSet, Mix, StepResult, run_step, warm_up
from bench.traffic_stack import Backing, delete_redis_prefix, running_stack

ROOT = Path(__file__).resolve().parent.parent
TRAFFIC_MD = ROOT / "docs" / "benchmarks-traffic.md"
HEADER = (
    "# Benchmarks: the seed's traffic mix\n\n"
    "Written by `python -m bench.traffic_mix`, with the machine and the date.\n"
)
REDIS = "redis://127.0.0.1:6379/0"
# Targets, per route class: (percentile, ms). Issue 18 §3 for the reads (search p95 100 ms,
# run page 150 ms, experiments page 100 ms), PRODUCT.md for small log calls (p99 20 ms)
# and freshness (p99 2 s).
TARGETS: dict[str, tuple[int, float]] = {
    "search": (95, 100.0),
    "run page": (95, 150.0),
    "experiments list": (95, 100.0),
    "log batch": (99, 20.0),
    "readable": (99, 2000.0),
    "live": (99, 2000.0),
}
ROUTES = (*ACTIONS, "log batch", "run create", "run complete")


@dataclass
class Verdict:
    held: bool
    missed: list[str]


def judge(result: StepResult) -> Verdict:
    """Every target held, and no request failed."""
    missed = []
    samples = {**result.latency_s, "readable": result.readable_s, "live": result.live_s}
    for name, (p, limit_ms) in TARGETS.items():
        values = samples.get(name, [])
        if values and percentile(values, p) * 1000 > limit_ms:
            missed.append(f"{name} p{p}")
    if sum(result.errors.values()):
        missed.append("errors")
    if result.unsent_batches:
        missed.append("batches sent")
    stored_range = (result.accepted_points, result.accepted_points + result.uncertain_points)
    if result.unseen_batches or not stored_range[0] <= result.stored_points <= stored_range[1]:
        missed.append("points stored")
    return Verdict(not missed, missed)


# ---------------------------------------------------------------- the run


async def load_data(url: str, dsn: str, plan: Plan) -> DataSet:
    """The plan's experiments, runs and points through the v1 API, waited until stored."""
    state = State(None, plan.scale, plan.seed)
    limits = httpx.Limits(max_connections=16)
    async with httpx.AsyncClient(base_url=url, timeout=120, limits=limits) as http:
        progress = progress_bar(quiet=True)
        await create_experiments(http, plan, state)
        with progress:
            await create_runs(http, plan, state, 8, progress)
            await log_points(http, plan, state, 8, progress)
    total = sum(plan.expected_points().values())
    stored = await wait_until_stored(dsn, total, 300)
    if stored != total:
        raise RuntimeError(f"data set: {stored:,} points stored of {total:,}")
    return DataSet(
        experiment_ids=state.experiment_ids,
        runs=[(run.id, list(run.series)) for run in plan.all_runs()],
        largest_experiment_runs=plan.experiment_runs[0],
    )


def run_mix(
    backing: Backing,
    mixes: list[Mix],
    plan: Plan,
    api_instances: int = 2,
    workers: int = 2,
    stop_at_miss: bool = True,
) -> list[StepResult]:
    """Start the stack on `backing` (a migrated, empty database), load `plan`, run each mix in
    turn (ending after the first that misses a target when `stop_at_miss`), stop it all."""
    dsn = backing.database_url.replace("postgresql+asyncpg://", "postgresql://", 1)
    results: list[StepResult] = []
    with running_stack(backing, api_instances, workers) as stack:
        data = asyncio.run(load_data(stack.urls[0], dsn, plan))
        asyncio.run(warm_up(stack, data))
        for mix in mixes:
            result = asyncio.run(run_step(mix, stack, dsn, data))
            results.append(result)
            print(step_line(result), flush=True)
            if stop_at_miss and not judge(result).held:
                break
    return results


# ---------------------------------------------------------------- the report


def ms(values: list[float], p: float) -> str:
    return f"{percentile(values, p) * 1000:,.0f}" if values else "-"


def step_line(result: StepResult) -> str:
    verdict = judge(result)
    return (
        f"x{result.mix.multiplier:g}: {result.mix.scaled_users} users, "
        f"{result.mix.scaled_runs} runs, {sum(len(v) for v in result.latency_s.values()):,} "
        f"requests ({done_share(result):.0%} of the schedule), "
        f"{sum(result.errors.values())} errors, readable p99 "
        f"{ms(result.readable_s, 99)} ms, live p99 {ms(result.live_s, 99)} ms, load "
        f"{result.loads[0]:.1f}->{result.loads[1]:.1f}: "
        + ("targets held" if verdict.held else f"missed {', '.join(verdict.missed)}")
    )


def server_batch_sentence(result: StepResult) -> str:
    """The API instances' own count of the step's batches within 10, 25 and 50 ms."""
    buckets = result.server_batch_s
    total = buckets.get(float("inf"), 0.0)
    if not total:
        return ""
    within = ", ".join(
        f"{buckets.get(bound, 0.0):,.0f} within {bound * 1000:g} ms"
        for bound in (0.01, 0.025, 0.05)
    )
    return (
        f" The API instances' own latency histogram (`trackboard_http_request_duration_"
        f"seconds`, without the network and this process) of the step's {total:,.0f} batch "
        f"requests: {within}."
    )


def step_table(result: StepResult) -> list[str]:
    mix = result.mix
    seconds = mix.duration_s
    verdict = judge(result)
    outcome = "all targets held" if verdict.held else "missed: " + ", ".join(verdict.missed)
    lines = [
        f"### Multiplier {mix.multiplier:g}: {mix.scaled_users:,} users, "
        f"{mix.scaled_runs:,} training run{'s' if mix.scaled_runs > 1 else ''}, {seconds:g} s",
        "",
        f"Load average {result.loads[0]:.1f} at the start, {result.loads[1]:.1f} at the end. "
        f"Verdict: **{outcome}**.",
        "",
        "| route class | requests | per s | p50 ms | p95 ms | p99 ms | errors | target |",
        "|---|---:|---:|---:|---:|---:|---:|---|",
    ]
    for route in ROUTES:
        values = result.latency_s.get(route, [])
        errors = result.errors.get(route, 0)
        target = TARGETS.get(route)
        lines.append(
            f"| {route} | {len(values) + errors:,} | {(len(values) + errors) / seconds:,.1f} | "
            f"{ms(values, 50)} | {ms(values, 95)} | {ms(values, 99)} | {errors} | "
            + (f"p{target[0]} ≤ {target[1]:g} ms" if target else "")
            + " |"
        )
    for name, values in (
        ("freshness: batch sent → readable", result.readable_s),
        ("freshness: batch sent → live frame received", result.live_s),
    ):
        lines.append(
            f"| {name} | {len(values):,} | | {ms(values, 50)} | {ms(values, 95)} | "
            f"{ms(values, 99)} | | p99 ≤ 2,000 ms |"
        )
    lines += [
        "",
        f"Points accepted {result.accepted_points:,}, stored {result.stored_points:,}; points "
        f"of failed batches (perhaps stored): {result.uncertain_points:,}; batches never "
        f"readable: {result.unseen_batches}; batches not sent because their "
        f"run was still waiting for an earlier one when the step ended: "
        f"{result.unsent_batches:,}; batches answered 503 and retried: {result.refused:,}; "
        f"live frames received: {result.live_frames:,}. The load generator's event loops woke "
        f"late for a 100 ms timer (p50 / p99 / max): the users' process "
        f"{ms(result.loop_lag_s, 50)} / {ms(result.loop_lag_s, 99)} / "
        f"{ms(result.loop_lag_s, 100)} ms, the training runs' process "
        f"{ms(result.train_loop_lag_s, 50)} / {ms(result.train_loop_lag_s, 99)} / "
        f"{ms(result.train_loop_lag_s, 100)} ms." + server_batch_sentence(result),
    ]
    if result.error_examples:
        lines += ["", "First errors:", "", *[f"- `{e}`" for e in result.error_examples]]
    lines += ["", "| component | CPU, % of one core |", "|---|---:|"]
    lines += [f"| {name} | {cpu:.0f} |" for name, cpu in result.cpu.items()]
    lines += [
        f"| the system (API instances, workers, this database's backends) | "
        f"{system_cpu(result):.0f} |"
    ]
    return lines


def system_cpu(result: StepResult) -> float:
    """% of one core the system under test spent: RabbitMQ and Redis are left out (shared
    with other work on this machine), and so are the load generator's two processes."""
    return sum(
        cpu
        for name, cpu in result.cpu.items()
        if name.startswith(("API instance", "worker", "PostgreSQL"))
    )


def done_share(result: StepResult) -> float:
    """User actions and batches sent (answered or failed) over those scheduled: below 1 when
    training runs fell behind their schedule."""
    routes = (*ACTIONS, "log batch")
    done = sum(len(result.latency_s.get(r, [])) + result.errors.get(r, 0) for r in routes)
    return done / max(result.mix.scheduled, 1e-9)


def cpu_ceiling(result: StepResult) -> float:
    """The multiplier at which the system's CPU would fill both cores, extrapolated linearly
    from the work this step did (its multiplier times the share of the schedule sent): an
    estimate of the headroom on 2 cores of its own, not a measurement."""
    return result.mix.multiplier * done_share(result) * 2 * 100 / max(system_cpu(result), 1e-9)


def report(results: list[StepResult], args: argparse.Namespace, plan: Plan) -> str:
    held = [r.mix.multiplier for r in results if judge(r).held]
    first_miss = next((r for r in results if not judge(r).held), None)
    if first_miss is None:
        headroom = f"all tested multipliers held; the highest tested is {held[-1]:g}"
    elif held:
        headroom = (
            f"**{max(held):g}** (multiplier {first_miss.mix.multiplier:g} missed: "
            f"{', '.join(judge(first_miss).missed)})"
        )
    else:
        headroom = (
            f"below the lowest tested ({first_miss.mix.multiplier:g} missed: "
            f"{', '.join(judge(first_miss).missed)})"
        )
    clean = [r for r in results if done_share(r) >= 0.95 and not sum(r.errors.values())]
    shares = ", ".join(f"{name} {share:.0%}" for name, share in ACTIONS.items())
    lines = [
        f"Command: `python -m bench.traffic_mix --duration {args.duration:g} "
        f"--multipliers {args.multipliers} --data-scale {args.data_scale:g}` "
        f"({args.api_instances} API instances, {args.workers} workers; 2 shared cores).",
        "",
        f"Data loaded first: {plan.runs:,} runs in {len(plan.experiment_runs)} experiments, "
        f"{sum(plan.expected_points().values()):,} points. At multiplier 1 the mix is "
        f"{args.users:,} users and {args.training_runs} training runs; a user acts every "
        f"{args.user_interval_s:g} s on average ({shares}) "
        "and holds a WebSocket subscribed to its experiment and to one training run; a "
        "training run posts a batch of 10 keys x 10 steps every second and is finished "
        f"after {args.run_lifetime_s:g} s, a new one created in its place; the training "
        "runs post from a process of their own, apart from the users' reads and sockets. "
        "Latency is from "
        "the intended send time (constant arrival, open loop) to the last byte; readable "
        "freshness polls the stored summary every 100 ms; live freshness is the frame's "
        "arrival minus the batch's timestamp (its intended send time). Before the first "
        "step each API instance served each kind of read once, unmeasured (one-time costs "
        "of a process's first requests are not steady-state latency).",
        "",
        f"Headroom (highest multiplier at which every target held): {headroom}.",
        "",
        "CPU-bound ceiling, extrapolated (not measured): the multiplier at which the "
        "system's CPU (API instances, workers, this database's PostgreSQL backends) would "
        "fill 2 cores of its own, from each step's CPU per second and the share of its "
        "schedule it sent, for the steps that sent at least 95 % of it without an error "
        "(past that, failed and late requests make the figure meaningless): "
        + (", ".join(f"{cpu_ceiling(r):.1f} (from x{r.mix.multiplier:g})" for r in clean) or "none")
        + ". It includes the stack's idle cost, so an estimate from a low multiplier is on the "
        "low side; CPU time per operation depends much less on the machine's other load than "
        "latency does; RabbitMQ, Redis and the load generator are not in it.",
        "",
    ]
    for result in results:
        lines += [*step_table(result), ""]
    return "\n".join(lines)


# ---------------------------------------------------------------- main


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--duration", type=float, default=60.0, help="seconds per multiplier")
    parser.add_argument(
        "--multipliers", default="0.1,0.25,0.5,1", help="ascending, comma-separated"
    )
    parser.add_argument("--users", type=int, default=1_000, help="users at multiplier 1")
    parser.add_argument("--training-runs", type=int, default=100, help="at multiplier 1")
    parser.add_argument("--user-interval-s", type=float, default=30.0)
    parser.add_argument("--run-lifetime-s", type=float, default=120.0)
    parser.add_argument("--data-scale", type=float, default=0.0005)
    parser.add_argument("--api-instances", type=int, default=2)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--all", action="store_true", help="go on past a missed multiplier")
    parser.add_argument("--no-write", action="store_true", help="print only")
    args = parser.parse_args()
    mixes = [
        Mix(
            multiplier=float(m),
            duration_s=args.duration,
            users=args.users,
            training_runs=args.training_runs,
            user_interval_s=args.user_interval_s,
            run_lifetime_s=args.run_lifetime_s,
        )
        for m in args.multipliers.split(",")
    ]
    tag = uuid.uuid4().hex[:8]
    database, vhost = f"tb_traffic_{tag}", f"tb-traffic-{tag}"
    backing = Backing(
        database_url=f"{PG}/{database}",
        amqp_url=f"{AMQP}/{vhost}",
        redis_url=REDIS,
        redis_prefix=f"tb-traffic-{tag}:",
        logs=ROOT / ".bench" / f"traffic-{tag}",
    )
    asyncio.run(admin(f'CREATE DATABASE "{database}"'))
    rabbitmqctl("add_vhost", vhost)
    rabbitmqctl("set_permissions", "-p", vhost, "guest", ".*", ".*", ".*")
    plan = Plan.at(args.data_scale)
    succeeded = False
    try:
        asyncio.run(migrate(backing.database_url))
        results = run_mix(
            backing, mixes, plan, args.api_instances, args.workers, stop_at_miss=not args.all
        )
        succeeded = True
    finally:
        asyncio.run(admin(f'DROP DATABASE IF EXISTS "{database}" WITH (FORCE)'))
        rabbitmqctl("delete_vhost", vhost)
        asyncio.run(delete_redis_prefix(REDIS, backing.redis_prefix))
        if succeeded:
            shutil.rmtree(backing.logs, ignore_errors=True)
        else:
            print(f"logs kept in {backing.logs}")
    text = report(results, args, plan)
    print(text)
    if not args.no_write:
        write_section("Traffic mix", text, path=TRAFFIC_MD, header=HEADER)
        print(f"wrote {TRAFFIC_MD}")


if __name__ == "__main__":
    os.environ.setdefault("PYTHONUNBUFFERED", "1")
    main()
