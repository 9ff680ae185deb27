"""The seed's traffic mix as an open-loop load (issue 18 §4): users with dashboards open
(reads, searches, a live subscription each), training runs logging one batch a second, runs
completed and created as they end.

Every request has an intended send time on a constant-arrival schedule, and its latency is
counted from that time to the last byte: a slow answer delays the start of no other
request's clock (no coordinated omission). The users' actions arrive at a constant
aggregate rate whatever the server does; each training run sends its batches one after
another (as the SDK's sending thread does), so a late answer makes its next batches late,
and their latency counts the wait.
"""

import asyncio
import math
import os
import random
import time
from collections import deque
from collections.abc import Awaitable, Callable, Coroutine
from contextlib import suppress
from dataclasses import dataclass, field
from typing import Any

import asyncpg
import httpx
import orjson
from websockets.asyncio.client import ClientConnection, connect

from bench.scale_load import post_batch
from bench.search_shapes import shapes
from bench.traffic_stack import ComponentCpu, Stack, named_pids, with_children

KEYS = ("loss", "acc", "lr", "grad_norm", *(f"train/metric_{i}" for i in range(6)))
STEPS_PER_BATCH = 10
PROBE_KEY = "loss"  # the key whose freshness is measured (every batch carries it)
POLL_S = 0.1  # the readable-freshness poll: its resolution
DRAIN_TIMEOUT_S = 60.0
# A user's next action: the runs table (a search), a run page (the run and 4 histories),
# the experiments list, the experiment's dashboard aggregation.
ACTIONS = {"search": 0.4, "run page": 0.3, "experiments list": 0.15, "dashboard": 0.15}
# Idle connections are dropped before uvicorn's 5 s keep-alive closes them: reusing one the
# server is closing that very moment fails the request (httpx.ReadError). No bound on
# connections: a thousand browsers each have their own.
LIMITS = httpx.Limits(max_connections=None, max_keepalive_connections=256, keepalive_expiry=2.0)


@dataclass(frozen=True)
class Mix:
    """The traffic at one rate multiplier: users and training runs scale with it."""

    multiplier: float
    duration_s: float
    users: int = 1_000  # at multiplier 1
    training_runs: int = 100  # at multiplier 1
    user_interval_s: float = 30.0  # mean time between one user's actions
    run_lifetime_s: float = 120.0

    @property
    def scaled_users(self) -> int:
        return max(1, round(self.users * self.multiplier))

    @property
    def scaled_runs(self) -> int:
        return max(1, round(self.training_runs * self.multiplier))

    @property
    def action_rate(self) -> float:
        return self.scaled_users / self.user_interval_s

    @property
    def scheduled(self) -> float:
        """User actions and batches the schedule calls for over the step."""
        return (self.action_rate + self.scaled_runs) * self.duration_s


@dataclass(frozen=True)
class DataSet:
    """What was loaded before the traffic: the users' experiments and runs to open."""

    experiment_ids: list[int]
    runs: list[tuple[str, list[str]]]  # (run id, its keys)
    largest_experiment_runs: int


@dataclass
class StepResult:
    mix: Mix
    latency_s: dict[str, list[float]] = field(default_factory=dict)
    errors: dict[str, int] = field(default_factory=dict)
    error_examples: list[str] = field(default_factory=list)
    refused: int = 0  # 503 answers to batches, retried after Retry-After (back-pressure)
    readable_s: list[float] = field(default_factory=list)  # batch sent → readable
    live_s: list[float] = field(default_factory=list)  # batch sent → frame received
    live_frames: int = 0
    unseen_batches: int = 0  # accepted, not readable by the end of the drain
    expected: dict[tuple[str, str], int] = field(default_factory=dict)  # (run, key) -> points
    stored_points: int = 0
    uncertain_points: int = 0  # of batches that failed (a timeout, a 5xx): stored or not
    cpu: dict[str, float] = field(default_factory=dict)  # % of one core
    # This process's own health: how late its event loop woke for a 100 ms timer, per
    # wake-up; when that grows, the figures measure the load generator, not the server.
    loop_lag_s: list[float] = field(default_factory=list)
    # Batches whose send time came while their run was still waiting for an earlier
    # batch, when the step ended: never sent, so neither timed nor stored.
    unsent_batches: int = 0
    loads: tuple[float, float] = (0.0, 0.0)
    # The API instances' own histogram of metric batches over the step (summed): bucket
    # upper bound in seconds -> batches answered within it. The server's share of the
    # client's latency, which also holds the network and this process's event loop.
    server_batch_s: dict[float, float] = field(default_factory=dict)

    @property
    def accepted_points(self) -> int:
        return sum(self.expected.values())


class User:
    """A browser with a dashboard open: its instance, experiment, watched run and socket."""

    def __init__(self, index: int, client: httpx.AsyncClient, ws_url: str, experiment: int):
        self.index = index
        self.client = client
        self.ws_url = ws_url
        self.experiment_id = experiment
        self.socket: ClientConnection | None = None
        self.watching: str | None = None


class Slot:
    """One training run at a time, replaced by a new one when its lifetime is over."""

    def __init__(self, index: int, client: httpx.AsyncClient, experiment: int) -> None:
        self.index = index
        self.client = client
        self.experiment_id = experiment
        self.run_id = ""
        self.generation = 0
        self.step = 0
        self.batches = 0
        self.ends_at = 0.0
        self.readable = False  # a batch of the current run is stored: its pages exist
        self.watchers: list[User] = []


class Traffic:
    """One step of the mix against a running stack; `run()` returns what it measured."""

    def __init__(self, mix: Mix, stack: Stack, dsn: str, data: DataSet, seed: int = 18) -> None:
        self.mix = mix
        self.stack = stack
        self.dsn = dsn
        self.data = data
        self.result = StepResult(mix)
        self.rng = random.Random(seed)
        self.clients = [
            httpx.AsyncClient(
                base_url=url, timeout=30, limits=LIMITS, event_hooks={"response": [self._count]}
            )
            for url in stack.urls
        ]
        self.epoch = time.time() - time.monotonic()
        self.pending: dict[str, deque[tuple[int, float]]] = {}  # run -> (last step, sent)
        self.run_ids: list[str] = []
        self.tasks: set[asyncio.Task[None]] = set()  # requests and subscription changes
        self.listeners: list[asyncio.Task[None]] = []  # one per socket, until it closes
        self.slots: list[Slot] = []
        self.stopping = False
        self.cpu = ComponentCpu()

    async def _count(self, response: httpx.Response) -> None:
        request = response.request
        if response.status_code == 503 and request.url.path.endswith("/metrics"):
            self.result.refused += 1

    # ------------------------------------------------------------ recording

    async def timed(self, route: str, intended: float, call: Callable[[], Awaitable[Any]]) -> bool:
        """Latency of `call` from `intended` (monotonic); an exception is an error."""
        self.result.latency_s.setdefault(route, [])
        self.result.errors.setdefault(route, 0)
        try:
            await call()
        except Exception as exc:  # any failure of the request is the route's error
            self.error(route, exc)
            return False
        self.result.latency_s[route].append(time.monotonic() - intended)
        return True

    def error(self, route: str, exc: BaseException) -> None:
        self.result.errors[route] = self.result.errors.get(route, 0) + 1
        if len(self.result.error_examples) < 10:
            if isinstance(exc, httpx.HTTPStatusError):
                what = f"{exc.response.status_code} {exc.response.text}"
            else:
                what = f"{type(exc).__name__}: {exc}"
            self.result.error_examples.append(f"{route}: {what}"[:300])

    def spawn(self, work: Coroutine[Any, Any, None]) -> None:
        task = asyncio.create_task(work)
        self.tasks.add(task)
        task.add_done_callback(self.tasks.discard)

    @staticmethod
    async def until(intended: float) -> None:
        delay = intended - time.monotonic()
        if delay > 0:
            await asyncio.sleep(delay)

    async def watch_loop(self, end: float) -> None:
        while (intended := time.monotonic() + 0.1) < end:
            await self.until(intended)
            self.result.loop_lag_s.append(time.monotonic() - intended)

    # ------------------------------------------------------------ training runs

    async def create_run(self, slot: Slot) -> None:
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
        old, slot.run_id = slot.run_id, str(response.json()["id"])
        slot.step, slot.batches, slot.readable = 0, 0, False
        self.run_ids.append(slot.run_id)
        self.pending[slot.run_id] = deque()
        for user in slot.watchers:
            self.spawn(self.watch(user, old, slot.run_id))

    async def finish_run(self, slot: Slot) -> None:
        response = await slot.client.patch(
            f"/api/v1/runs/{slot.run_id}", json={"status": "FINISHED"}
        )
        response.raise_for_status()

    async def log_batch(self, slot: Slot, intended: float) -> None:
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
        self.pending[run_id].append((steps[-1], intended))
        batch_id = f"{run_id}-{slot.batches}"
        slot.step += STEPS_PER_BATCH
        slot.batches += 1
        if not await self.timed(
            "log batch", intended, lambda: post_batch(slot.client, run_id, batch_id, columns)
        ):
            # Failed as far as the client knows, yet perhaps queued: may be stored, so it is
            # neither expected nor waited for.
            self.result.uncertain_points += len(steps) * len(KEYS)
            with suppress(ValueError):
                self.pending[run_id].remove((steps[-1], intended))
            return
        for key in KEYS:
            ident = (run_id, key)
            self.result.expected[ident] = self.result.expected.get(ident, 0) + len(steps)

    async def train(self, slot: Slot, start: float, end: float) -> None:
        """Batches at 1/s (phase by slot); at the end of its lifetime the run is finished
        and the next one created, as a training script's loop would."""
        tick = start + slot.index / self.mix.scaled_runs
        while tick < end:
            if time.monotonic() >= end:  # behind its schedule: the step is over all the same
                self.result.unsent_batches += math.ceil(end - tick)
                return
            await self.until(tick)
            if tick >= slot.ends_at:
                await self.timed("run complete", tick, lambda: self.finish_run(slot))
                created = time.monotonic()
                await self.timed("run create", created, lambda: self.create_run(slot))
                slot.ends_at = tick + self.mix.run_lifetime_s
            await self.log_batch(slot, tick)
            tick += 1.0

    # ------------------------------------------------------------ users

    async def connect(self, user: User, run_id: str) -> None:
        user.socket = await connect(user.ws_url, max_size=None, open_timeout=60)
        await user.socket.send(orjson.dumps({"subscribe": {"experiment_id": user.experiment_id}}))
        await self.watch(user, None, run_id)
        self.listeners.append(asyncio.create_task(self.listen(user, user.socket)))

    async def watch(self, user: User, old: str | None, new: str) -> None:
        if user.socket is None:
            return
        try:
            if old:
                await user.socket.send(orjson.dumps({"unsubscribe": {"run_id": old}}))
            await user.socket.send(orjson.dumps({"subscribe": {"run_id": new}}))
            user.watching = new
        except Exception as exc:  # a closed socket: counted where it closed
            if not self.stopping:
                self.error("live subscription", exc)

    async def listen(self, user: User, socket: ClientConnection) -> None:
        try:
            async for frame in socket:
                if not self.stopping:
                    self.on_frame(frame)
        except Exception as exc:  # the socket dropped during the step
            if not self.stopping:
                self.error("live subscription", exc)

    def on_frame(self, frame: str | bytes) -> None:
        received = time.time()
        message = orjson.loads(frame)
        if message.get("event") != "metrics":
            return
        self.result.live_frames += 1
        points = message["points"].get(PROBE_KEY)
        if points:
            self.result.live_s.append(received - points[-1][2] / 1000)

    async def act(self, user: User, slot: Slot, intended: float) -> None:
        action = self.rng.choices(list(ACTIONS), weights=list(ACTIONS.values()))[0]
        client = user.client
        if action == "search":
            shape = self.rng.choice(shapes(self.data.largest_experiment_runs))
            body = {
                "experiment_ids": [user.experiment_id],
                "filter": shape.filter,
                "order_by": list(shape.order_by),
                "limit": 100,
            }
            request: Awaitable[httpx.Response | None] = client.post(
                "/api/v1/runs/search", json=body
            )
        elif action == "run page":
            # Half the time the watched run, once it has points; else a loaded one.
            if slot.readable and self.rng.random() < 0.5:
                run_id, keys = slot.run_id, list(KEYS)
            else:
                run_id, keys = self.rng.choice(self.data.runs)
            request = run_page(client, run_id, keys[:4])
        elif action == "experiments list":
            request = client.get("/api/v1/experiments", params={"limit": 100})
        else:
            request = client.get(f"/api/v1/experiments/{user.experiment_id}/dashboard")
        await self.timed(action, intended, lambda: checked(request))

    async def users_acting(self, users: list[User], start: float, end: float) -> None:
        """The users' actions at a constant aggregate rate, each started on time."""
        k = 0
        while (intended := start + k / self.mix.action_rate) < end:
            await self.until(intended)
            user = users[k % len(users)]
            self.spawn(self.act(user, self.slots[user.index % len(self.slots)], intended))
            k += 1

    # ------------------------------------------------------------ freshness and CPU

    async def poll(self, connection: asyncpg.Connection) -> None:
        """Batch → readable: the probe key's stored last step, every POLL_S (what any read of
        the API sees: there is no replica here); CPU of every part once a second."""
        polls = 0
        own = await connection.fetchval("SELECT pg_backend_pid()")
        while True:
            runs = [run for run, queue in self.pending.items() if queue]
            if runs:
                rows = await connection.fetch(
                    "SELECT run_id, last_step FROM metric_summaries "
                    "WHERE key = $1 AND run_id = ANY($2::text[])",
                    PROBE_KEY,
                    runs,
                )
                now = time.monotonic()
                for row in rows:
                    queue = self.pending[row["run_id"]]
                    while queue and queue[0][0] <= row["last_step"]:
                        self.result.readable_s.append(now - queue.popleft()[1])
                        self.mark_readable(row["run_id"])
            if polls % round(1 / POLL_S) == 0:
                backends = await connection.fetch(
                    "SELECT pid FROM pg_stat_activity "
                    "WHERE datname = current_database() AND pid <> $1",
                    own,
                )
                self.sample_cpu([row["pid"] for row in backends])
            polls += 1
            if self.stopping and not runs:
                return
            await asyncio.sleep(POLL_S)

    def mark_readable(self, run_id: str) -> None:
        for slot in self.slots:
            if slot.run_id == run_id:
                slot.readable = True

    def sample_cpu(self, postgres: list[int]) -> None:
        components = {name: with_children(pid) for name, pid in self.stack.pids.items()}
        components["PostgreSQL (this database's backends)"] = postgres
        components["RabbitMQ (whole broker, shared)"] = named_pids("beam.smp")
        components["Redis (whole server, shared)"] = named_pids("redis-server")
        components["this load generator"] = [os.getpid()]
        self.cpu.sample(components)

    # ------------------------------------------------------------ the step

    async def run(self) -> StepResult:
        mix, data = self.mix, self.data
        self.result.loads = (os.getloadavg()[0], 0.0)
        n = len(self.clients)
        self.slots = [
            Slot(i, self.clients[i % n], data.experiment_ids[i % len(data.experiment_ids)])
            for i in range(mix.scaled_runs)
        ]
        users = [
            User(
                i,
                self.clients[i % n],
                self.stack.urls[i % n].replace("http://", "ws://") + "/api/v1/ws",
                data.experiment_ids[i % len(data.experiment_ids)],
            )
            for i in range(mix.scaled_users)
        ]
        # Before the clock: the runs already training (their ends spread over a lifetime)
        # and the users' sockets open, each watching one of them.
        now = time.monotonic()
        for slot in self.slots:
            await self.create_run(slot)
            slot.ends_at = now + mix.run_lifetime_s * (slot.index + 0.5) / len(self.slots)
        gate = asyncio.Semaphore(50)

        async def open_socket(user: User) -> None:
            slot = self.slots[user.index % len(self.slots)]
            slot.watchers.append(user)
            async with gate:
                await self.connect(user, slot.run_id)

        await asyncio.gather(*(open_socket(user) for user in users))
        await asyncio.sleep(1.0)  # the subscriptions bound before the first batch
        connection = await asyncpg.connect(self.dsn)
        try:
            before = await batch_histograms(self.clients)
            start = time.monotonic() + 0.5
            end = start + mix.duration_s
            self.sample_cpu([])
            poller = asyncio.create_task(self.poll(connection))
            await asyncio.gather(
                self.users_acting(users, start, end),
                self.watch_loop(end),
                *(self.train(slot, start, end) for slot in self.slots),
            )
            while self.tasks:
                await asyncio.gather(*self.tasks, return_exceptions=True)
            after = await batch_histograms(self.clients)
            self.result.server_batch_s = {
                bound: count - before.get(bound, 0.0) for bound, count in after.items()
            }
            self.sample_cpu([])
            self.result.cpu = self.cpu.core_percent()
            self.result.loads = (self.result.loads[0], os.getloadavg()[0])
            # After the clock: sockets closed, runs finished, the queue drained.
            self.stopping = True
            for user in users:
                if user.socket is not None:
                    await user.socket.close()
            await asyncio.gather(*self.listeners, return_exceptions=True)
            for slot in self.slots:
                try:
                    await self.finish_run(slot)
                except httpx.HTTPError as exc:
                    self.error("run complete", exc)
            with suppress(TimeoutError):
                await asyncio.wait_for(poller, DRAIN_TIMEOUT_S)
        finally:
            self.result.unseen_batches = sum(len(queue) for queue in self.pending.values())
            self.result.stored_points = int(
                await connection.fetchval(
                    "SELECT coalesce(sum(count), 0) FROM metric_summaries "
                    "WHERE run_id = ANY($1::text[])",
                    self.run_ids,
                )
            )
            await connection.close()
            for client in self.clients:
                await client.aclose()
        return self.result


BATCH_LABELS = ('method="POST"', 'route="/api/v1/runs/{run_id}/metrics"')


async def batch_histogram(client: httpx.AsyncClient) -> dict[float, float]:
    """An API instance's cumulative histogram of metric batch requests, from its `/metrics`
    (`trackboard_http_request_duration_seconds`): bucket upper bound (s) -> count."""
    response = await client.get("/metrics")
    response.raise_for_status()
    buckets: dict[float, float] = {}
    for line in response.text.splitlines():
        if line.startswith("trackboard_http_request_duration_seconds_bucket{") and all(
            label in line for label in BATCH_LABELS
        ):
            bound = float(line.split('le="', 1)[1].split('"', 1)[0])
            buckets[bound] = buckets.get(bound, 0.0) + float(line.rsplit(" ", 1)[1])
    return buckets


async def batch_histograms(clients: list[httpx.AsyncClient]) -> dict[float, float]:
    """`batch_histogram` summed over the instances."""
    total: dict[float, float] = {}
    for client in clients:
        for bound, count in (await batch_histogram(client)).items():
            total[bound] = total.get(bound, 0.0) + count
    return total


async def checked(request: Awaitable[httpx.Response | None]) -> None:
    response = await request
    if response is not None:
        response.raise_for_status()


async def run_page(client: httpx.AsyncClient, run_id: str, keys: list[str]) -> None:
    """What the run page asks at once: the run and a chart's history per key."""
    responses = await asyncio.gather(
        client.get(f"/api/v1/runs/{run_id}"),
        *(
            client.get(f"/api/v1/runs/{run_id}/metrics/{key}", params={"max_points": 1000})
            for key in keys
        ),
    )
    for response in responses:
        response.raise_for_status()


async def warm_up(stack: Stack, data: DataSet) -> None:
    """Each API instance serves each kind of read once, unmeasured, before the first step:
    a process's first search of a shape, run page or dashboard pays one-time costs (a
    query's first compile, models a route builds on its first call; one dashboard took
    56 ms of event loop that way), which the first step's few requests would otherwise
    count as steady-state latency. The cached reads use parameters the mix does not send,
    so no answer the mix asks for is cached by this."""
    experiment_id = data.experiment_ids[0]
    run_id, keys = data.runs[0]
    for url in stack.urls:
        async with httpx.AsyncClient(base_url=url, timeout=30, limits=LIMITS) as client:
            for shape in shapes(data.largest_experiment_runs):
                body = {
                    "experiment_ids": [experiment_id],
                    "filter": shape.filter,
                    "order_by": list(shape.order_by),
                    "limit": 99,
                }
                await checked(client.post("/api/v1/runs/search", json=body))
            await run_page(client, run_id, keys[:4])
            await checked(client.get("/api/v1/experiments", params={"limit": 99}))
            dashboard = f"/api/v1/experiments/{experiment_id}/dashboard"
            await checked(client.get(dashboard, params={"days": 29}))


async def run_step(mix: Mix, stack: Stack, dsn: str, data: DataSet) -> StepResult:
    return await Traffic(mix, stack, dsn, data).run()
