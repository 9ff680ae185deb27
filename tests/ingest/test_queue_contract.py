"""One contract for both queues: the in-process one and RabbitMQ (a queue name per test)."""

import asyncio
import contextlib
import uuid
from collections.abc import AsyncIterator

import pytest

from tests.services import AMQP_URL, require_service
from trackboard.server.backends.queue import (
    Delivery,
    LocalQueue,
    Queue,
    QueueFullError,
    RabbitQueue,
)

MAX_LENGTH = 5


async def delete_queues(name: str) -> None:
    import aio_pika

    connection = await aio_pika.connect(AMQP_URL)
    async with connection:
        channel = await connection.channel()
        await channel.queue_delete(name)
        await channel.queue_delete(f"{name}.dead")


@pytest.fixture(params=["local", "rabbit"])
async def queue(request: pytest.FixtureRequest) -> AsyncIterator[Queue]:
    if request.param == "local":
        yield LocalQueue(MAX_LENGTH)
        return
    require_service("RabbitMQ", "127.0.0.1", 5672)
    name = f"tb-test-{uuid.uuid4().hex[:12]}"
    rabbit = await RabbitQueue.connect(AMQP_URL, name, max_length=MAX_LENGTH, prefetch=50)
    try:
        yield rabbit
    finally:
        await rabbit.close()
        await delete_queues(name)


async def depth_becomes(queue: Queue, expected: int) -> int:
    # RabbitMQ's message count trails publish/ack by a moment.
    for _ in range(50):
        depth = await queue.depth()
        if depth == expected:
            break
        await asyncio.sleep(0.05)
    return depth


async def test_published_messages_are_received_in_order_and_gone_once_acked(queue: Queue) -> None:
    for body in (b"a", b"b", b"c"):
        await queue.publish(body)
    assert await depth_becomes(queue, 3) == 3
    received: list[Delivery] = []
    while len(received) < 3:
        received += await queue.receive(10, 2.0)
    assert [d.body for d in received] == [b"a", b"b", b"c"]
    assert received[0].delivery_count == 1
    await queue.ack(received)
    assert await depth_becomes(queue, 0) == 0
    assert await queue.receive(10, 0.2) == []


async def test_receive_waits_for_a_message_then_returns_what_is_ready(queue: Queue) -> None:
    async def publish_later() -> None:
        await asyncio.sleep(0.2)
        await queue.publish(b"late")

    task = asyncio.create_task(publish_later())
    received = await queue.receive(10, 5.0)
    await task
    assert [d.body for d in received] == [b"late"]
    await queue.ack(received)


async def test_a_full_queue_refuses_publishes(queue: Queue) -> None:
    for i in range(MAX_LENGTH):
        await queue.publish(str(i).encode())
    # A quorum queue checks its length before appending, so it may take one more.
    with contextlib.suppress(QueueFullError):
        await queue.publish(b"maybe one more")
    with pytest.raises(QueueFullError):
        await queue.publish(b"one too many")


async def test_dead_lettered_messages_leave_the_queue_with_their_reason(queue: Queue) -> None:
    await queue.publish(b"poison")
    await queue.publish(b"fine")
    received: list[Delivery] = []
    while len(received) < 2:
        received += await queue.receive(10, 2.0)
    await queue.dead_letter(received[0], "unreadable")
    await queue.ack(received[1:])
    assert await depth_becomes(queue, 0) == 0
    for _ in range(50):
        if await queue.dead_letter_depth() == 1:
            break
        await asyncio.sleep(0.05)
    assert await queue.dead_letter_depth() == 1
