"""The traffic mix's training runs in a process of their own (bench/traffic_load.py starts
it): each run posts a batch a second and is finished and replaced at the end of its
lifetime, timed from its intended send time as before.

Why a process: in the users' process the batches shared one event loop with the reads'
answers, the searches' JSON and every live frame, so a batch's clock also counted the
turns that loop gave to them (it woke up to 20-300 ms late for a 100 ms timer in the
earlier runs). Here the loop does nothing else; its own lateness is reported too.

The two processes talk over a pipe. To the users' process: `("created", slot, run_id)` when
a slot has a new run (its watchers move to it), `("ready",)` once every slot has its first
run, `("sending", run_id, last_step, intended)` before a batch's POST (its readable
freshness is then polled), `("failed", run_id, last_step, intended)` when a batch failed
(it may or may not be stored, so it is not waited for), `("done", TrainResult)` at the end.
From it: `("start", start, end)`, monotonic times (CLOCK_MONOTONIC is one clock for every
process of the machine).
"""

import asyncio
import math
import random
import time
from collections.abc import Awaitable, Callable
from contextlib import suppress
from dataclasses import dataclass, field
from multiprocessing.connection import Connection
from typing import Any, Protocol

import httpx

from bench.scale_load import post_batch

KEYS = ("loss", "acc", "lr", "grad_norm", *(f"train/metric_{i}" for i in range(6)))
STEPS_PER_BATCH = 10
# Idle connections are dropped before uvicorn's 5 s keep-alive closes them: reusing one the
# server is closing that very moment fails the request (httpx.ReadError).
LIMITS = httpx.Limits(max_connections=None, max_keepalive_connections=256, keepalive_expiry=2.0)
TRAIN_ROUTES = ("log batch", "run create", "run complete")


@dataclass
class TrainResult:
    """What the training runs measured, merged into the step's result by the users' side."""

    latency_s: dict[str, list[float]] = field(default_factory=dict)
    errors: dict[str, int] = field(default_factory=dict)
    error_examples: list[str] = field(default_factory=list)
    refused: int = 0  # 503 answers to batches, retried after Retry-After (back-pressure)
    expected: dict[tuple[str, str], int] = field(default_factory=dict)  # (run, key) -> points
    uncertain_points: int = 0  # of batches that failed (a timeout, a 5xx): stored or not
    unsent_batches: int = 0  # send time came while the run waited for an earlier batch
    loop_lag_s: list[float] = field(default_factory=list)  # this process's 100 ms timer


class Timings(Protocol):
    """What both processes of a step record per route (TrainResult, traffic_load's StepResult)."""

    latency_s: dict[str, list[float]]
    errors: dict[str, int]
    error_examples: list[str]


def record_error(result: Timings, route: str, exc: BaseException) -> None:
    result.errors[route] = result.errors.get(route, 0) + 1
    if len(result.error_examples) < 10:
        if isinstance(exc, httpx.HTTPStatusError):
            what = f"{exc.response.status_code} {exc.response.text}"
        else:
            what = f"{type(exc).__name__}: {exc}"
        result.error_examples.append(f"{route}: {what}"[:300])


async def timed(
    result: Timings, route: str, intended: float, call: Callable[[], Awaitable[Any]]
) -> bool:
    """Latency of `call` from `intended` (monotonic) into `result`; an exception is an error."""
    result.latency_s.setdefault(route, [])
    result.errors.setdefault(route, 0)
    try:
        await call()
    except Exception as exc:  # any failure of the request is the route's error
        record_error(result, route, exc)
        return False
    result.latency_s[route].append(time.monotonic() - intended)
    return True


@dataclass
class TrainSlot:
    """One training run at a time, replaced by a new one when its lifetime is over."""

    index: int
    client: httpx.AsyncClient
    experiment_id: int
    run_id: str = ""
    generation: int = 0
    step: int = 0
    batches: int = 0
    ends_at: float = 0.0


class Trainer:
    """The training runs of one step; `run()` sends its result down the pipe."""

    def __init__(
        self,
        pipe: Connection,
        urls: list[str],
        experiment_ids: list[int],
        runs: int,
        run_lifetime_s: float,
        seed: int,
    ) -> None:
        self.pipe = pipe
        self.runs = runs
        self.run_lifetime_s = run_lifetime_s
        self.rng = random.Random(seed)
        self.result = TrainResult()
        self.clients = [
            httpx.AsyncClient(
                base_url=url, timeout=30, limits=LIMITS, event_hooks={"response": [self._count]}
            )
            for url in urls
        ]
        self.slots = [
            TrainSlot(i, self.clients[i % len(urls)], experiment_ids[i % len(experiment_ids)])
            for i in range(runs)
        ]
        self.epoch = time.time() - time.monotonic()

    async def _count(self, response: httpx.Response) -> None:
        if response.status_code == 503 and response.request.url.path.endswith("/metrics"):
            self.result.refused += 1

    async def timed(self, route: str, intended: float, call: Callable[[], Awaitable[Any]]) -> bool:
        return await timed(self.result, route, intended, call)

    async def create_run(self, slot: TrainSlot) -> None:
        slot.generation += 1
        body = {
            "name": f"train-{slot.index}-{slot.generation}",
            "params": {"lr": "0.01", "optimizer": "adam", "batch_size": "64"},
            "tags": {"team": "nlp", "env": "dev"},
        }
        response = await slot.client.post(
            f"/api/v1/experiments/{slot.experiment_id}/runs", json=body
        )
        response.raise_for_status()
        slot.run_id = str(response.json()["id"])
        slot.step, slot.batches = 0, 0
        self.pipe.send(("created", slot.index, slot.run_id))

    async def finish_run(self, slot: TrainSlot) -> None:
        response = await slot.client.patch(
            f"/api/v1/runs/{slot.run_id}", json={"status": "FINISHED"}
        )
        response.raise_for_status()

    async def log_batch(self, slot: TrainSlot, intended: float) -> None:
        run_id, first = slot.run_id, slot.step
        steps = list(range(first, first + STEPS_PER_BATCH))
        sent_ms = int((self.epoch + intended) * 1000)
        columns = [
            {
                "key": key,
                "steps": steps,
                "values": [self.rng.random() for _ in steps],
                "timestamps": [sent_ms] * len(steps),
            }
            for key in KEYS
        ]
        self.pipe.send(("sending", run_id, steps[-1], intended))
        batch_id = f"{run_id}-{slot.batches}"
        slot.step += STEPS_PER_BATCH
        slot.batches += 1
        if not await self.timed(
            "log batch", intended, lambda: post_batch(slot.client, run_id, batch_id, columns)
        ):
            # Failed as far as the client knows, yet perhaps queued: may be stored, so it is
            # neither expected nor waited for.
            self.result.uncertain_points += len(steps) * len(KEYS)
            self.pipe.send(("failed", run_id, steps[-1], intended))
            return
        for key in KEYS:
            ident = (run_id, key)
            self.result.expected[ident] = self.result.expected.get(ident, 0) + len(steps)

    async def train(self, slot: TrainSlot, start: float, end: float) -> None:
        """Batches at 1/s (phase by slot); at the end of its lifetime the run is finished
        and the next one created, as a training script's loop would."""
        tick = start + slot.index / self.runs
        while tick < end:
            if time.monotonic() >= end:  # behind its schedule: the step is over all the same
                self.result.unsent_batches += math.ceil(end - tick)
                return
            await until(tick)
            if tick >= slot.ends_at:
                await self.timed("run complete", tick, lambda: self.finish_run(slot))
                created = time.monotonic()
                await self.timed("run create", created, lambda: self.create_run(slot))
                slot.ends_at = tick + self.run_lifetime_s
            await self.log_batch(slot, tick)
            tick += 1.0

    async def watch_loop(self, end: float) -> None:
        while (intended := time.monotonic() + 0.1) < end:
            await until(intended)
            self.result.loop_lag_s.append(time.monotonic() - intended)

    async def run(self) -> None:
        try:
            # Before the clock: the runs already training, their ends spread over a lifetime.
            now = time.monotonic()
            for slot in self.slots:
                await self.create_run(slot)
                slot.ends_at = now + self.run_lifetime_s * (slot.index + 0.5) / self.runs
            self.pipe.send(("ready",))
            loop = asyncio.get_running_loop()
            _, start, end = await loop.run_in_executor(None, self.pipe.recv)
            for route in TRAIN_ROUTES:
                self.result.latency_s.setdefault(route, [])
                self.result.errors.setdefault(route, 0)
            await asyncio.gather(
                self.watch_loop(end), *(self.train(slot, start, end) for slot in self.slots)
            )
            self.pipe.send(("done", self.result))
        finally:
            for client in self.clients:
                with suppress(httpx.HTTPError):
                    await client.aclose()


async def until(intended: float) -> None:
    delay = intended - time.monotonic()
    if delay > 0:
        await asyncio.sleep(delay)


def train_process(
    pipe: Connection,
    urls: list[str],
    experiment_ids: list[int],
    runs: int,
    run_lifetime_s: float,
    seed: int,
) -> None:
    """The process's entry point (multiprocessing, spawn)."""
    try:
        asyncio.run(Trainer(pipe, urls, experiment_ids, runs, run_lifetime_s, seed).run())
    finally:
        pipe.close()
