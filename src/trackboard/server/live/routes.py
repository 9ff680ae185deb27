"""WebSocket /api/v1/ws: subscribe to runs and experiments, receive their events as JSON."""

import asyncio
import contextlib
import logging

import orjson
from fastapi import APIRouter, WebSocket, WebSocketDisconnect
from pydantic import ValidationError

from trackboard.server.errors import NotFound
from trackboard.server.gateway.authorization import check_read_access
from trackboard.server.live.schemas import ClientMessage, ExperimentTopic, RunTopic
from trackboard.server.live.service import Live, LiveService, experiment_topic, run_topic

log = logging.getLogger(__name__)

router = APIRouter(tags=["live"])

MAX_SUBSCRIPTIONS = 500
# Frames waiting for a slow browser; past this the oldest are dropped and the client is
# told to re-read (`resync`), which is cheaper than holding memory for it.
OUTBOX_FRAMES = 2_000


def topic_of(target: RunTopic | ExperimentTopic) -> str:
    if isinstance(target, RunTopic):
        return run_topic(target.run_id)
    return experiment_topic(target.experiment_id)


def control(event: str, **fields: object) -> bytes:
    return orjson.dumps({"event": event, **fields})


class Outbox:
    """Frames for one socket, written by one task so sends never interleave."""

    def __init__(self, limit: int = OUTBOX_FRAMES) -> None:
        self._frames: asyncio.Queue[bytes] = asyncio.Queue()
        self._limit = limit
        self._overflowed = False

    def put(self, frame: bytes) -> None:
        if self._frames.qsize() >= self._limit:
            while not self._frames.empty():
                self._frames.get_nowait()
            self._overflowed = True
        self._frames.put_nowait(frame)

    async def pump(self, websocket: WebSocket) -> None:
        while True:
            frame = await self._frames.get()
            if self._overflowed:
                self._overflowed = False
                await websocket.send_text(control("resync").decode())
            await websocket.send_text(frame.decode())


class LiveConnection:
    """The subscriptions of one socket: one forwarding task per topic."""

    def __init__(self, live: LiveService, outbox: Outbox) -> None:
        self._live = live
        self._outbox = outbox
        self._tasks: dict[str, asyncio.Task[None]] = {}

    async def _forward(self, topic: str, echo: dict[str, object]) -> None:
        async with self._live.subscribe(topic) as messages:
            self._outbox.put(control("subscribed", topic=echo))
            async for message in messages:
                self._outbox.put(message)

    def subscribe(self, target: RunTopic | ExperimentTopic) -> None:
        topic = topic_of(target)
        if topic in self._tasks:
            self._outbox.put(control("subscribed", topic=target.model_dump()))
            return
        if len(self._tasks) >= MAX_SUBSCRIPTIONS:
            self._outbox.put(
                control("error", message=f"at most {MAX_SUBSCRIPTIONS} subscriptions a socket")
            )
            return
        task = asyncio.create_task(self._forward(topic, target.model_dump()))
        task.add_done_callback(lambda t: self._forget(topic, t))
        self._tasks[topic] = task

    def _forget(self, topic: str, task: asyncio.Task[None]) -> None:
        if self._tasks.get(topic) is task:
            del self._tasks[topic]
        if not task.cancelled() and task.exception() is not None:
            log.warning("live subscription %s failed", topic, exc_info=task.exception())
            self._outbox.put(control("error", message=f"subscription to {topic} failed"))

    def unsubscribe(self, target: RunTopic | ExperimentTopic) -> None:
        task = self._tasks.pop(topic_of(target), None)
        if task is not None:
            task.cancel()
        self._outbox.put(control("unsubscribed", topic=target.model_dump()))

    async def close(self) -> None:
        tasks = list(self._tasks.values())
        self._tasks.clear()
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)


async def may_read(websocket: WebSocket, target: RunTopic | ExperimentTopic) -> bool:
    """The same per-project read check as every HTTP route, for one subscription."""
    try:
        if isinstance(target, RunTopic):
            await check_read_access(websocket, run_ids=[target.run_id])
        else:
            await check_read_access(websocket, experiment_ids=[target.experiment_id])
    except NotFound:
        return False
    return True


async def handle(
    websocket: WebSocket, connection: LiveConnection, outbox: Outbox, raw: str
) -> None:
    try:
        message = ClientMessage.model_validate_json(raw)
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(part) for part in first.get("loc", ()))
        outbox.put(control("error", message=f"{where}: {first['msg']}" if where else first["msg"]))
        return
    if message.subscribe is not None:
        if await may_read(websocket, message.subscribe):
            connection.subscribe(message.subscribe)
        else:
            # The same answer as for a run that does not exist: ids don't leak.
            outbox.put(control("error", message="no such run or experiment"))
    if message.unsubscribe is not None:
        connection.unsubscribe(message.unsubscribe)
    if message.ping is not None:
        outbox.put(control("pong", ping=message.ping))


@router.websocket("/api/v1/ws")
async def live_updates(websocket: WebSocket, live: Live) -> None:
    """Send `{"subscribe": {"run_id": …}}` or `{"subscribe": {"experiment_id": …}}`; events
    `metrics`, `run_created`, `run_updated` follow as they are committed."""
    await websocket.accept()
    outbox = Outbox()
    connection = LiveConnection(live, outbox)
    pump = asyncio.create_task(outbox.pump(websocket))
    try:
        while True:
            frame = await websocket.receive()
            if frame["type"] == "websocket.disconnect":
                break
            text = frame.get("text")
            if text is None:
                text = (frame.get("bytes") or b"").decode("utf-8", errors="replace")
            await handle(websocket, connection, outbox, text)
    except WebSocketDisconnect:
        pass
    finally:
        await connection.close()
        pump.cancel()
        with contextlib.suppress(asyncio.CancelledError, Exception):
            await pump
