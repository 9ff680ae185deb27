"""Membership changes and key revocations are events; the credential cache subscribes."""

from collections.abc import Sequence

from fastapi import FastAPI

from trackboard.server.accounts import service
from trackboard.server.accounts.credential_events import CredentialForgetting
from trackboard.server.accounts.roles import Role
from trackboard.server.events import Event


class Forgotten:
    """A credential cache that notes what it was told to forget."""

    def __init__(self) -> None:
        self.users: list[int] = []
        self.keys: list[str] = []

    async def forget_user(self, user_id: int) -> None:
        self.users.append(user_id)

    async def forget_key(self, key_hash: str) -> None:
        self.keys.append(key_hash)


async def test_membership_changes_and_revocations_reach_the_credential_cache_after_commit(
    app: FastAPI,
) -> None:
    database = app.state.database
    heard: list[Event] = []

    async def note(events: Sequence[Event]) -> None:
        heard.extend(events)

    forgotten = Forgotten()
    database.events.subscribe("test", note)
    database.events.subscribe("test-credentials", CredentialForgetting(forgotten).on_events)
    async with database.transaction() as session:
        user = await service.create_user(session, "fay", "a strong password")
        project = await service.create_project(session, "audio", owner_user_id=user.id)
        await service.set_member(session, project.id, "fay", Role.VIEWER)
        await service.remove_member(session, project.id, "fay")
        api_key, _ = await service.create_api_key(session, project.id, Role.EDITOR)
        await service.revoke_api_key(session, api_key)
        await service.revoke_api_key(session, api_key)  # already revoked: no second event
        assert forgotten.users == []  # nothing before the commit
    assert [(e.type, e.project_id, dict(e.data)) for e in heard] == [
        ("project.member_changed", project.id, {"user_id": user.id, "role": "owner"}),
        ("project.member_changed", project.id, {"user_id": user.id, "role": "viewer"}),
        ("project.member_changed", project.id, {"user_id": user.id, "role": None}),
        ("api_key.revoked", project.id, {"key_id": api_key.id}),
    ]
    assert forgotten.users == [user.id] * 3
    assert forgotten.keys == [api_key.key_hash]
    # The key's hash stays in the process: it is not part of what is published.
    assert api_key.key_hash.encode() not in heard[-1].to_json()
