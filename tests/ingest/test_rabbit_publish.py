"""Concurrent publishes on RabbitMQ's one publish channel each return after their own confirm:
every confirmed one is queued once, and a refused one is a `QueueFullError`. (A quorum queue
applies its length bound as messages arrive, so publishes in flight together may pass it by
up to their number: the bound is back-pressure, not an exact count.)"""

import asyncio
import uuid

from tests.ingest.test_queue_contract import delete_queues
from tests.services import AMQP_URL, require_service
from trackboard.server.backends.queue import QueueFullError, RabbitQueue


async def test_concurrent_publishes_are_each_confirmed_and_queued_once() -> None:
    require_service("RabbitMQ", "127.0.0.1", 5672)
    name = f"tb-test-{uuid.uuid4().hex[:12]}"
    queue = await RabbitQueue.connect(AMQP_URL, name, max_length=150, prefetch=500)
    try:
        bodies = [f"m{i}".encode() for i in range(200)]
        results = await asyncio.gather(
            *(queue.publish(body) for body in bodies), return_exceptions=True
        )
        confirmed = {b for b, r in zip(bodies, results, strict=True) if r is None}
        refused = [r for r in results if r is not None]
        assert all(isinstance(r, QueueFullError) for r in refused), refused
        assert len(confirmed) >= 150
        received: list[bytes] = []
        while len(received) < len(confirmed):
            deliveries = await queue.receive(500, 5.0)
            assert deliveries, f"only {len(received)} of {len(confirmed)} arrived"
            received.extend(d.body for d in deliveries)
            await queue.ack(deliveries)
        assert sorted(received) == sorted(confirmed)
        assert await queue.receive(500, 0.3) == []
    finally:
        await queue.close()
        await delete_queues(name)
