"""The server's app factory freezes the heap (`gc.freeze`) once the app's startup is done,
before the server reports it started, and passes everything else through untouched."""

import asyncio
import gc

from starlette.types import Message, Receive, Scope, Send

from trackboard.cli.main import FreezeAfterStartup


def test_heap_is_frozen_when_startup_completes_and_not_before() -> None:
    frozen_inside: list[int] = []
    frozen_at_server: list[int] = []
    sent: list[Message] = []

    async def app(scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "lifespan":
            assert (await receive())["type"] == "lifespan.startup"
            frozen_inside.append(gc.get_freeze_count())
            await send({"type": "lifespan.startup.complete"})
        else:
            await send({"type": "http.response.start", "status": 204, "headers": []})

    async def receive() -> Message:
        return {"type": "lifespan.startup"}

    async def send(message: Message) -> None:
        frozen_at_server.append(gc.get_freeze_count())
        sent.append(message)

    gc.unfreeze()
    try:
        wrapped = FreezeAfterStartup(app)
        asyncio.run(wrapped({"type": "http"}, receive, send))
        assert frozen_at_server == [0]
        asyncio.run(wrapped({"type": "lifespan"}, receive, send))
        assert frozen_inside == [0]
        assert frozen_at_server[1] > 0
    finally:
        gc.unfreeze()
    assert [m["type"] for m in sent] == ["http.response.start", "lifespan.startup.complete"]
