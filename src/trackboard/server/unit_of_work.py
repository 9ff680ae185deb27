"""Request-scoped transactions: each request owns one, committed before the reply is sent."""

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Annotated

from fastapi import Depends, Request
from sqlalchemy.ext.asyncio import AsyncSession

from trackboard.server.backends.database import COMMIT_POSITION, Database


def database(request: Request) -> Database:
    db: Database = request.app.state.database
    return db


async def read_session(request: Request) -> AsyncIterator[AsyncSession]:
    # The position of the client's last write (read_your_writes): replicas behind it skip.
    read_after = getattr(request.state, "read_after", None)
    transaction = database(request).transaction(write=False, replica=True, read_after=read_after)
    async with transaction as session:
        yield session


@asynccontextmanager
async def write_transaction(request: Request) -> AsyncIterator[AsyncSession]:
    """The request's write transaction, for a route that must see its commit fail (the run
    writes that go to the replay queue then); other routes take `WriteSession`."""
    async with database(request).transaction(write=True) as session:
        yield session
    # With replicas: where this commit ended, handed back to the client for its next read.
    position = session.info.get(COMMIT_POSITION)
    if position is not None:
        request.state.commit_position = position


async def write_session(request: Request) -> AsyncIterator[AsyncSession]:
    async with write_transaction(request) as session:
        yield session


# scope="function": the transaction ends (commits) when the endpoint returns, before the
# response goes out, so a client that got a 2xx can read its write from any instance.
ReadSession = Annotated[AsyncSession, Depends(read_session, scope="function")]
WriteSession = Annotated[AsyncSession, Depends(write_session, scope="function")]
