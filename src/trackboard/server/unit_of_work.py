"""Request-scoped transactions: each request owns one, committed before the reply is sent."""

from collections.abc import AsyncIterator
from typing import Annotated

from fastapi import Depends, Request
from sqlalchemy.ext.asyncio import AsyncSession

from trackboard.server.backends.database import Database


def database(request: Request) -> Database:
    db: Database = request.app.state.database
    return db


async def read_session(request: Request) -> AsyncIterator[AsyncSession]:
    async with database(request).transaction(write=False) as session:
        yield session


async def write_session(request: Request) -> AsyncIterator[AsyncSession]:
    async with database(request).transaction(write=True) as session:
        yield session


# scope="function": the transaction ends (commits) when the endpoint returns, before the
# response goes out, so a client that got a 2xx can read its write from any instance.
ReadSession = Annotated[AsyncSession, Depends(read_session, scope="function")]
WriteSession = Annotated[AsyncSession, Depends(write_session, scope="function")]
