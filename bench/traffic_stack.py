"""The traffic mix's private distributed stack: N `trackboard server` instances on free
loopback ports and M `trackboard worker` processes over a PostgreSQL database, a RabbitMQ
vhost and a Redis key prefix of the caller's, and the CPU each part spends."""

import time
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import psutil  # type: ignore[import-untyped]
import redis.asyncio as redis

from bench.ingest import BIN, free_port, process, wait_http


@dataclass(frozen=True)
class Backing:
    """Where the stack keeps its state: all of it the caller's own."""

    database_url: str  # as the servers take it (`postgresql://` or `postgresql+asyncpg://`)
    amqp_url: str  # with the vhost
    redis_url: str
    redis_prefix: str
    logs: Path


@dataclass
class Stack:
    urls: list[str]  # one per API instance
    # Component name -> pid of its process (children are counted with it).
    pids: dict[str, int] = field(default_factory=dict)


def stack_env(backing: Backing) -> dict[str, str]:
    return {
        "TRACKBOARD_DATABASE_URL": backing.database_url,
        "TRACKBOARD_AMQP_URL": backing.amqp_url,
        "TRACKBOARD_REDIS_URL": backing.redis_url,
        "TRACKBOARD_REDIS_KEY_PREFIX": backing.redis_prefix,
        "TRACKBOARD_LOG_LEVEL": "WARNING",
        "TRACKBOARD_WORKER_METRICS_PORT": "0",
        "TRACKBOARD_HOME": str(backing.logs),
    }


@contextmanager
def running_stack(backing: Backing, api_instances: int, workers: int) -> Iterator[Stack]:
    """Start the processes (the database already migrated), wait until every instance
    answers, stop them all on exit."""
    backing.logs.mkdir(parents=True, exist_ok=True)
    env = stack_env(backing)
    trackboard = str(BIN / "trackboard")
    stack = Stack(urls=[])
    with ExitStack() as processes:
        for i in range(api_instances):
            port = free_port()
            child = processes.enter_context(
                process(
                    [trackboard, "server", "--port", str(port)],
                    env,
                    backing.logs / f"server-{i + 1}.log",
                )
            )
            stack.urls.append(f"http://127.0.0.1:{port}")
            stack.pids[f"API instance {i + 1}"] = child.pid
        for i in range(workers):
            child = processes.enter_context(
                process([trackboard, "worker"], env, backing.logs / f"worker-{i + 1}.log")
            )
            stack.pids[f"worker {i + 1}"] = child.pid
        for url in stack.urls:
            wait_http(f"{url}/healthz", 300)
        yield stack


async def delete_redis_prefix(redis_url: str, prefix: str) -> None:
    client = redis.Redis.from_url(redis_url)
    try:
        keys = [key async for key in client.scan_iter(match=f"{prefix}*", count=1000)]
        if keys:
            await client.delete(*keys)
    finally:
        await client.aclose()


def named_pids(*names: str) -> list[int]:
    """Pids of the processes called one of `names` (a shared server of the machine)."""
    return [p.pid for p in psutil.process_iter(["name"]) if p.info["name"] in names]


class ComponentCpu:
    """CPU seconds (user + system) per component over a window, from psutil.

    A component is a set of processes that may change while it is measured (PostgreSQL
    backends come and go with the pools): `sample` is called every second or so with the
    current pids, and each process contributes the CPU it spent between the first and the
    last time it was seen. What a process spent before it was first seen is not counted.
    """

    def __init__(self) -> None:
        self._first: dict[tuple[str, int], float] = {}
        self._last: dict[tuple[str, int], float] = {}
        self._handles: dict[int, psutil.Process] = {}
        self._started = time.monotonic()
        self._ended = self._started

    def _cpu(self, pid: int) -> float | None:
        try:
            handle = self._handles.get(pid) or self._handles.setdefault(pid, psutil.Process(pid))
            times = handle.cpu_times()
            return float(times.user + times.system)
        except (psutil.NoSuchProcess, psutil.AccessDenied):
            return None

    def sample(self, components: dict[str, list[int]]) -> None:
        for name, pids in components.items():
            for pid in pids:
                seconds = self._cpu(pid)
                if seconds is None:
                    continue
                self._first.setdefault((name, pid), seconds)
                self._last[(name, pid)] = seconds
        self._ended = time.monotonic()

    def core_percent(self) -> dict[str, float]:
        """Per component, its CPU time as a percentage of one core over the window."""
        wall = max(self._ended - self._started, 1e-9)
        totals: dict[str, float] = {}
        for (name, pid), last in self._last.items():
            totals[name] = totals.get(name, 0.0) + last - self._first[(name, pid)]
        return {name: 100 * seconds / wall for name, seconds in totals.items()}


def with_children(pid: int) -> list[int]:
    try:
        return [pid, *(child.pid for child in psutil.Process(pid).children(recursive=True))]
    except psutil.NoSuchProcess:
        return []
