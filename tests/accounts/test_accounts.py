"""Users, projects, memberships and keys through the service, on SQLite and PostgreSQL."""

import httpx
import pytest
from fastapi import FastAPI

from trackboard.server.accounts import service
from trackboard.server.accounts.roles import Role
from trackboard.server.errors import AlreadyExists, InvalidParameter, NotFound


async def test_users_need_unique_names_and_strong_passwords(app: FastAPI) -> None:
    async with app.state.database.transaction() as session:
        user = await service.create_user(session, "carol", "a strong password")
        assert user.password_hash.startswith("$argon2id$")
        with pytest.raises(AlreadyExists):
            await service.create_user(session, "carol", "another strong one")
        with pytest.raises(InvalidParameter):
            await service.create_user(session, "dave", "short")
        with pytest.raises(InvalidParameter):
            await service.create_user(session, "", "a strong password")
        assert await service.authenticate_user(session, "carol", "a strong password") == user
        assert await service.authenticate_user(session, "carol", "wrong password") is None
        assert await service.authenticate_user(session, "nobody", "a strong password") is None


async def test_keys_are_found_by_hash_and_revocation_disables_them(app: FastAPI) -> None:
    async with app.state.database.transaction() as session:
        project, created = await service.get_or_create_project(session, "vision")
        assert created
        again, created_again = await service.get_or_create_project(session, "vision")
        assert (again.id, created_again) == (project.id, False)
        api_key, key = await service.create_api_key(session, project.id, Role.VIEWER, name="ci")
        assert api_key.key_hash != key
        assert key not in (api_key.prefix, api_key.key_hash, api_key.name)
        identity = await service.identify_api_key(session, key)
        assert identity is not None
        assert (identity.project_id, identity.role) == (project.id, Role.VIEWER)
        assert await service.identify_api_key(session, key + "x") is None
        assert await service.identify_api_key(session, api_key.prefix) is None
        for handle in (str(api_key.id), api_key.prefix, key):
            assert (await service.find_api_key(session, handle)).id == api_key.id
        with pytest.raises(NotFound):
            await service.find_api_key(session, "tbk_unknown0")
        await service.revoke_api_key(session, api_key)
        assert await service.identify_api_key(session, key) is None
        await service.record_key_use(session, api_key.id)


async def test_memberships_carry_roles(app: FastAPI) -> None:
    async with app.state.database.transaction() as session:
        user = await service.create_user(session, "erin", "a strong password")
        project = await service.create_project(session, "nlp", owner_user_id=user.id)
        assert await service.get_memberships(session, user.id) == {project.id: Role.OWNER}
        await service.set_member(session, project.id, "erin", Role.VIEWER)
        assert await service.list_members(session, project.id) == [("erin", Role.VIEWER)]
        await service.remove_member(session, project.id, "erin")
        assert await service.get_memberships(session, user.id) == {}
        with pytest.raises(AlreadyExists):
            await service.create_project(session, "nlp")


async def test_open_mode_accounts_routes_still_answer(client: httpx.AsyncClient) -> None:
    created = await client.post("/api/v1/projects", json={"name": "open-project"})
    assert created.status_code == 201
    listed = await client.get("/api/v1/projects")
    assert [p["name"] for p in listed.json()["projects"]] == ["open-project"]


def test_roles_are_ordered() -> None:
    assert Role.VIEWER < Role.EDITOR < Role.OWNER
    assert Role.parse("Editor") is Role.EDITOR
    with pytest.raises(ValueError, match="unknown role"):
        Role.parse("admin")
