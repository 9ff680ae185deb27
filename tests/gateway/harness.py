"""A world for gateway tests: an app with auth on, two projects, keys of each role, users."""

import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import Any

import httpx
from fastapi import FastAPI

from trackboard.server.accounts import service as accounts
from trackboard.server.accounts.roles import Role
from trackboard.server.app import create_app
from trackboard.server.config import Settings
from trackboard.server.logged_models import service as logged_models

PASSWORD = "correct horse battery"


@asynccontextmanager
async def running_app(settings: Settings) -> AsyncIterator[tuple[FastAPI, httpx.AsyncClient]]:
    app = create_app(settings)
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://localhost") as client:
            yield app, client


def bearer(key: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {key}"}


@dataclass
class World:
    """Projects A and B; in each an experiment with one run; keys and users per role."""

    keys: dict[str, str] = field(default_factory=dict)  # "a_viewer" → key
    projects: dict[str, int] = field(default_factory=dict)  # "a" → project id
    experiments: dict[str, int] = field(default_factory=dict)  # "a" → experiment id
    runs: dict[str, str] = field(default_factory=dict)  # "a" → run id
    rules: dict[str, int] = field(default_factory=dict)  # "a" → notification rule id
    models: dict[str, str] = field(default_factory=dict)  # "a" → MLflow logged model id
    users: dict[str, str] = field(default_factory=dict)  # "alice" → password


async def seed_world(app: FastAPI, client: httpx.AsyncClient) -> World:
    world = World()
    suffix = uuid.uuid4().hex[:6]
    async with app.state.database.transaction() as session:
        for name in ("a", "b"):
            project = await accounts.create_project(session, f"project-{name}-{suffix}")
            world.projects[name] = project.id
            for role in Role:
                _, key = await accounts.create_api_key(session, project.id, role)
                world.keys[f"{name}_{role.label}"] = key
        alice = await accounts.create_user(session, "alice", PASSWORD)
        await accounts.set_member(session, world.projects["a"], "alice", Role.OWNER)
        await accounts.create_user(session, "bob", PASSWORD)
        await accounts.set_member(session, world.projects["b"], "bob", Role.VIEWER)
        await accounts.create_user(session, "root", PASSWORD, is_admin=True)
        del alice
    world.users = {"alice": PASSWORD, "bob": PASSWORD, "root": PASSWORD}
    for name in ("a", "b"):
        headers = bearer(world.keys[f"{name}_editor"])
        created = await client.post(
            "/api/v1/experiments", json={"name": f"exp-{name}-{suffix}"}, headers=headers
        )
        assert created.status_code == 201, created.text
        world.experiments[name] = created.json()["id"]
        run = await client.post(
            f"/api/v1/experiments/{world.experiments[name]}/runs", json={}, headers=headers
        )
        assert run.status_code == 201, run.text
        world.runs[name] = run.json()["id"]
        rule = await client.post(
            "/api/v1/notification-rules",
            json={
                "name": f"rule-{name}",
                "triggers": [{"type": "run.failed"}],
                "channels": [{"type": "email", "to": [f"team-{name}@example.com"]}],
            },
            headers=headers,
        )
        assert rule.status_code == 201, rule.text
        world.rules[name] = rule.json()["id"]
    # Through the service, not the API: the rate-limit tests count the writes above.
    async with app.state.database.transaction() as session:
        for name in ("a", "b"):
            model = await logged_models.create_model(
                session, world.experiments[name], tags={"k": "v"}
            )
            world.models[name] = model.model.id
    return world


def auth_settings(base: Settings, **overrides: Any) -> Settings:
    return base.model_copy(update={"auth": True, **overrides})
