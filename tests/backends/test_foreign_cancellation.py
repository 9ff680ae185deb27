"""A `CancelledError` handed back by a client library (aiormq rejects the pending calls of a
channel it closes with one) must not end a background loop or leave a breaker half-open:
either wedges the process, refusing every later publish."""

import asyncio

import pytest

from trackboard.server.backends.circuit_breaker import BreakerState, CircuitBreaker
from trackboard.server.backends.dependency_guard import DependencyGuard
from trackboard.server.backends.queue import QueueUnavailableError
from trackboard.server.metrics.ingest import publish
from trackboard.server.metrics.ingest.publish import Ingestor
from trackboard.server.observability.prometheus import Instruments


async def rejected_call() -> None:
    """What awaiting an RPC of a channel aiormq closed raises: the task is not cancelled."""
    future: asyncio.Future[None] = asyncio.get_running_loop().create_future()
    future.set_exception(asyncio.CancelledError())
    await future


async def test_a_probe_ended_by_a_rejected_call_reopens_the_breaker() -> None:
    breaker = CircuitBreaker("broker", failure_threshold=1, reset_after_s=0.05)
    guard = DependencyGuard(
        breaker,
        deadline_s=1.0,
        unavailable=QueueUnavailableError,
        is_failure=lambda error: True,
        probe=rejected_call,
    )
    breaker.failed()
    await asyncio.sleep(0.06)
    with pytest.raises(QueueUnavailableError):
        guard.admit()  # starts the probe in the background
    await asyncio.sleep(0.01)
    # Open again, not half-open with its probe out (which would refuse every call for good).
    assert breaker.state is BreakerState.OPEN
    await asyncio.sleep(0.06)
    assert breaker.allow()


class FlakyDepthQueue:
    """A queue whose depth reads fail in the ways a broker client's can, then answer."""

    def __init__(self) -> None:
        self.reads = 0

    async def depth(self) -> int:
        self.reads += 1
        if self.reads == 1:
            return 500  # full: batches are refused
        if self.reads == 2:
            await rejected_call()
        if self.reads == 3:
            raise RuntimeError("an unexpected error of the client")
        return 0  # drained


async def polling_ingestor(queue: object, monkeypatch: pytest.MonkeyPatch) -> Ingestor:
    """An Ingestor polling `queue`'s depth every 10 ms, started."""
    monkeypatch.setattr(publish, "DEPTH_POLL_S", 0.01)
    ingestor = Ingestor(queue, Instruments(), waits_for_commit=False, max_depth=100)  # type: ignore[arg-type]
    await ingestor.start()
    return ingestor


async def test_the_depth_poll_outlives_a_rejected_call_and_sees_the_queue_drain(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    queue = FlakyDepthQueue()
    ingestor = await polling_ingestor(queue, monkeypatch)
    try:
        for _ in range(200):
            if queue.reads >= 4:
                break
            await asyncio.sleep(0.01)
        await asyncio.sleep(0.02)
        assert queue.reads >= 4
        assert ingestor.depth == 0
    finally:
        await ingestor.stop()


class CancellationSwallowingQueue:
    """A depth read that loses the caller's cancellation, as a client library can."""

    def __init__(self) -> None:
        self.reads = 0
        self.reading = asyncio.Event()

    async def depth(self) -> int:
        self.reads += 1
        self.reading.set()
        try:
            await asyncio.sleep(0.05)
        except asyncio.CancelledError:
            current = asyncio.current_task()
            assert current is not None
            current.uncancel()
        return 0


@pytest.mark.timeout(30)  # without the stop flag, the stop waits for good
async def test_the_depth_poll_stops_even_if_a_read_loses_the_cancellation(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    queue = CancellationSwallowingQueue()
    ingestor = await polling_ingestor(queue, monkeypatch)
    await queue.reading.wait()  # the stop's cancellation lands inside a read
    async with asyncio.timeout(2):
        await ingestor.stop()
    assert ingestor._poller is not None
    assert ingestor._poller.done()
