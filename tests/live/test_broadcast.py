"""One contract for both broadcasts: LocalBroadcast always, RabbitBroadcast on the real broker."""

import asyncio
import os
import socket
import uuid
from collections.abc import AsyncIterator

import pytest

from trackboard.server.backends.broadcast import Broadcast, LocalBroadcast, RabbitBroadcast

AMQP_URL = os.environ.get("TRACKBOARD_TEST_AMQP_URL", "amqp://guest:guest@127.0.0.1:5672/")


async def delete_exchange(name: str) -> None:
    import aio_pika

    connection = await aio_pika.connect(AMQP_URL)
    async with connection:
        channel = await connection.channel()
        await channel.exchange_delete(name)


def broker_reachable() -> bool:
    try:
        with socket.create_connection(("127.0.0.1", 5672), timeout=1):
            return True
    except OSError:
        return False


@pytest.fixture(params=["local", "rabbitmq"])
async def broadcast(request: pytest.FixtureRequest) -> AsyncIterator[Broadcast]:
    if request.param == "local":
        local = LocalBroadcast()
        yield local
        await local.close()
        return
    if not broker_reachable():
        if os.environ.get("CI") == "true":
            pytest.fail("RabbitMQ is not reachable on 127.0.0.1:5672")
        pytest.skip("RabbitMQ is not reachable on 127.0.0.1:5672")
    # Each test its own exchange: tests never hear each other.
    exchange = f"trackboard.test.{uuid.uuid4().hex}"
    rabbit = await RabbitBroadcast.connect(AMQP_URL, exchange)
    yield rabbit
    await rabbit.close()
    await delete_exchange(exchange)


async def next_message(subscription: AsyncIterator[bytes], within: float = 5.0) -> bytes:
    return await asyncio.wait_for(anext(subscription), within)


async def nothing_arrives(subscription: AsyncIterator[bytes], within: float = 0.3) -> bool:
    try:
        await asyncio.wait_for(anext(subscription), within)
    except TimeoutError:
        return True
    return False


async def test_a_subscriber_hears_what_is_published_after_it_subscribed(
    broadcast: Broadcast,
) -> None:
    async with broadcast.subscribe("run.a") as sub:
        await broadcast.publish("run.a", b"one")
        await broadcast.publish("run.a", b"two")
        assert await next_message(sub) == b"one"
        assert await next_message(sub) == b"two"


async def test_topics_are_kept_apart(broadcast: Broadcast) -> None:
    async with broadcast.subscribe("run.a") as a, broadcast.subscribe("run.b") as b:
        await broadcast.publish("run.b", b"for b")
        assert await next_message(b) == b"for b"
        assert await nothing_arrives(a)


async def test_every_subscriber_of_a_topic_gets_each_message(broadcast: Broadcast) -> None:
    async with (
        broadcast.subscribe("experiment.1") as one,
        broadcast.subscribe("experiment.1") as two,
    ):
        await broadcast.publish("experiment.1", b"hello")
        assert await next_message(one) == b"hello"
        assert await next_message(two) == b"hello"


async def test_a_closed_subscription_hears_nothing_more(broadcast: Broadcast) -> None:
    async with broadcast.subscribe("run.a") as keep:
        gone = broadcast.subscribe("run.a")
        async with gone:
            pass
        await broadcast.publish("run.a", b"after")
        assert await next_message(keep) == b"after"
        with pytest.raises(StopAsyncIteration):
            await anext(gone)


async def test_topic_is_unbound_when_its_last_subscriber_leaves(broadcast: Broadcast) -> None:
    async with broadcast.subscribe("run.a"):
        pass
    async with broadcast.subscribe("run.a") as again:
        await broadcast.publish("run.a", b"still works")
        assert await next_message(again) == b"still works"


async def test_iterating_without_entering_subscribes_on_first_read(broadcast: Broadcast) -> None:
    sub = broadcast.subscribe("run.lazy")
    reader = asyncio.create_task(next_message(sub))
    for _ in range(50):  # until the lazy subscription is in place
        await broadcast.publish("run.lazy", b"ping")
        await asyncio.sleep(0.05)
        if reader.done():
            break
    assert await reader == b"ping"
    await sub.aclose()


async def test_close_ends_every_subscription(broadcast: Broadcast) -> None:
    sub = broadcast.subscribe("run.a")
    await sub.__aenter__()
    await broadcast.close()
    with pytest.raises(StopAsyncIteration):
        await next_message(sub)


async def test_a_slow_subscriber_loses_its_oldest_messages_not_the_newest() -> None:
    local = LocalBroadcast(max_pending=3)
    async with local.subscribe("run.a") as sub:
        for i in range(10):
            await local.publish("run.a", str(i).encode())
        assert [await next_message(sub) for _ in range(3)] == [b"7", b"8", b"9"]
        assert sub.dropped == 7
    assert local.subscriber_count("run.a") == 0


async def test_messages_cross_instances_through_the_broker() -> None:
    if not broker_reachable():
        if os.environ.get("CI") == "true":
            pytest.fail("RabbitMQ is not reachable on 127.0.0.1:5672")
        pytest.skip("RabbitMQ is not reachable on 127.0.0.1:5672")
    exchange = f"trackboard.test.{uuid.uuid4().hex}"
    listener = await RabbitBroadcast.connect(AMQP_URL, exchange)
    speaker = await RabbitBroadcast.connect(AMQP_URL, exchange)
    try:
        async with listener.subscribe("run.x") as sub:
            await speaker.publish("run.x", b"from the other instance")
            assert await next_message(sub) == b"from the other instance"
    finally:
        await speaker.close()
        await listener.close()
        await delete_exchange(exchange)
