"""The seed's traffic mix as an open-loop load (issue 18 §4): users with dashboards open
(reads, searches, a live subscription each), training runs logging one batch a second, runs
completed and created as they end. The training runs post from a process of their own
(bench/traffic_train.py), so the users' reads and live frames do not delay their batches'
clock.

Every request has an intended send time on a constant-arrival schedule, and its latency is
counted from that time to the last byte: a slow answer delays the start of no other
request's clock (no coordinated omission). The users' actions arrive at a constant
aggregate rate whatever the server does; each training run sends its batches one after
another (as the SDK's sending thread does), so a late answer makes its next batches late,
and their latency counts the wait.
"""

import asyncio
import multiprocessing
import os
import random
import time
from collections import deque
from collections.abc import Awaitable, Callable, Coroutine
from contextlib import suppress
from dataclasses import dataclass, field
from multiprocessing.connection import Connection
from typing import Any

import asyncpg
import httpx
import orjson
from websockets.asyncio.client import ClientConnection, connect

from bench.search_shapes import shapes
from bench.traffic_stack import ComponentCpu, Stack, named_pids, with_children
from bench.traffic_train import KEYS, LIMITS, TrainResult, record_error, timed, train_process

PROBE_KEY = "loss"  # the key whose freshness is measured (every batch carries it)
POLL_S = 0.1  # the readable-freshness poll: its resolution
DRAIN_TIMEOUT_S = 60.0
TRAINER_TIMEOUT_S = 120.0  # its runs created, or its result after the step's end
# A user's next action: the runs table (a search), a run page (the run and 4 histories),
# the experiments list, the experiment's dashboard aggregation.
ACTIONS = {"search": 0.4, "run page": 0.3, "experiments list": 0.15, "dashboard": 0.15}
# LIMITS (bench/traffic_train.py) has no bound on connections: a thousand browsers each
# have their own.


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
    # The load generator's own health: how late its event loops woke for a 100 ms timer,
    # per wake-up (the users' process, the training runs' process); when that grows, the
    # figures measure the load generator, not the server.
    loop_lag_s: list[float] = field(default_factory=list)
    train_loop_lag_s: list[float] = field(default_factory=list)
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
    """The users' view of one training run slot (the runs post from their own process):
    its current run, whether that has points yet, the users watching it."""

    def __init__(self, index: int) -> None:
        self.index = index
        self.run_id = ""
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
            httpx.AsyncClient(base_url=url, timeout=30, limits=LIMITS) for url in stack.urls
        ]
        self.pending: dict[str, deque[tuple[int, float]]] = {}  # run -> (last step, sent)
        self.run_ids: list[str] = []
        self.tasks: set[asyncio.Task[None]] = set()  # requests and subscription changes
        self.listeners: list[asyncio.Task[None]] = []  # one per socket, until it closes
        self.slots: list[Slot] = []
        self.stopping = False
        self.cpu = ComponentCpu()
        self.trainer_pid = 0
        # Built inside the running loop (run_step): the training runs' process's signals.
        self.ready: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self.trained: asyncio.Future[TrainResult] = asyncio.get_running_loop().create_future()

    # ------------------------------------------------------------ recording

    async def timed(self, route: str, intended: float, call: Callable[[], Awaitable[Any]]) -> bool:
        return await timed(self.result, route, intended, call)

    def error(self, route: str, exc: BaseException) -> None:
        record_error(self.result, route, exc)

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

    def on_trainer(self, pipe: Connection) -> None:
        """The training runs' process told something (see bench/traffic_train.py)."""
        try:
            while pipe.poll():
                message = pipe.recv()
                kind = message[0]
                if kind == "sending":
                    _, run_id, last_step, intended = message
                    self.pending[run_id].append((last_step, intended))
                elif kind == "failed":
                    _, run_id, last_step, intended = message
                    with suppress(ValueError):
                        self.pending[run_id].remove((last_step, intended))
                elif kind == "created":
                    self.on_created(self.slots[message[1]], message[2])
                elif kind == "ready":
                    self.ready.set_result(None)
                elif kind == "done":
                    self.trained.set_result(message[1])
        except (EOFError, OSError) as exc:  # the process ended: before its result, a failure
            asyncio.get_running_loop().remove_reader(pipe.fileno())
            gone = RuntimeError(f"the training runs' process ended early: {exc!r}")
            for future in (self.ready, self.trained):
                if not future.done():
                    future.set_exception(gone)

    def on_created(self, slot: Slot, run_id: str) -> None:
        old, slot.run_id, slot.readable = slot.run_id, run_id, False
        self.run_ids.append(run_id)
        self.pending[run_id] = deque()
        for user in slot.watchers:
            self.spawn(self.watch(user, old, run_id))

    def merge(self, trained: TrainResult) -> None:
        result = self.result
        result.latency_s.update(trained.latency_s)
        for route, count in trained.errors.items():
            result.errors[route] = result.errors.get(route, 0) + count
        result.error_examples += trained.error_examples[: 10 - len(result.error_examples)]
        result.refused += trained.refused
        result.expected.update(trained.expected)
        result.uncertain_points += trained.uncertain_points
        result.unsent_batches += trained.unsent_batches
        result.train_loop_lag_s = trained.loop_lag_s

    async def finish_run(self, client: httpx.AsyncClient, run_id: str) -> None:
        response = await client.patch(f"/api/v1/runs/{run_id}", json={"status": "FINISHED"})
        response.raise_for_status()

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
        components["this load generator (users)"] = [os.getpid()]
        if self.trainer_pid:
            components["this load generator (training runs)"] = [self.trainer_pid]
        self.cpu.sample(components)

    # ------------------------------------------------------------ the step

    async def run(self) -> StepResult:
        mix, data = self.mix, self.data
        self.result.loads = (os.getloadavg()[0], 0.0)
        n = len(self.clients)
        self.slots = [Slot(i) for i in range(mix.scaled_runs)]
        users = [
            User(
                i,
                self.clients[i % n],
                self.stack.urls[i % n].replace("http://", "ws://") + "/api/v1/ws",
                data.experiment_ids[i % len(data.experiment_ids)],
            )
            for i in range(mix.scaled_users)
        ]
        # spawn, not fork: a forked child would inherit this process's running event loop.
        context = multiprocessing.get_context("spawn")
        pipe, child_end = context.Pipe()
        trainer = context.Process(
            target=train_process,
            args=(
                child_end,
                self.stack.urls,
                data.experiment_ids,
                mix.scaled_runs,
                mix.run_lifetime_s,
                self.rng.randrange(2**32),
            ),
            name="traffic-training-runs",
            daemon=True,
        )
        loop = asyncio.get_running_loop()
        trainer.start()
        child_end.close()
        self.trainer_pid = trainer.pid or 0
        loop.add_reader(pipe.fileno(), self.on_trainer, pipe)
        connection: asyncpg.Connection | None = None
        try:
            # Before the clock: the runs already training (created by their process) and the
            # users' sockets open, each watching one of them.
            await asyncio.wait_for(self.ready, TRAINER_TIMEOUT_S)
            gate = asyncio.Semaphore(50)

            async def open_socket(user: User) -> None:
                slot = self.slots[user.index % len(self.slots)]
                slot.watchers.append(user)
                async with gate:
                    await self.connect(user, slot.run_id)

            await asyncio.gather(*(open_socket(user) for user in users))
            await asyncio.sleep(1.0)  # the subscriptions bound before the first batch
            connection = await asyncpg.connect(self.dsn)
            before = await batch_histograms(self.clients)
            start = time.monotonic() + 0.5
            end = start + mix.duration_s
            pipe.send(("start", start, end))
            self.sample_cpu([])
            poller = asyncio.create_task(self.poll(connection))
            await asyncio.gather(self.users_acting(users, start, end), self.watch_loop(end))
            self.merge(await asyncio.wait_for(self.trained, TRAINER_TIMEOUT_S))
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
                    await self.finish_run(self.clients[slot.index % n], slot.run_id)
                except httpx.HTTPError as exc:
                    self.error("run complete", exc)
            with suppress(TimeoutError):
                await asyncio.wait_for(poller, DRAIN_TIMEOUT_S)
        finally:
            loop.remove_reader(pipe.fileno())
            pipe.close()
            trainer.join(10)
            if trainer.is_alive():
                trainer.kill()
            self.result.unseen_batches = sum(len(queue) for queue in self.pending.values())
            if connection is not None:
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
