"""Rules follow the project roles: viewers read, editors manage, other projects see nothing."""

import httpx

from tests.gateway.harness import auth_settings, bearer, running_app, seed_world
from trackboard.server.config import Settings

RULE = {
    "name": "mine",
    "triggers": [{"type": "run.finished"}],
    "channels": [{"type": "email", "to": ["me@example.com"]}],
}


async def test_rules_follow_the_project_roles(settings: Settings) -> None:
    async with running_app(auth_settings(settings, rate_limit=False)) as (app, client):
        world = await seed_world(app, client)
        viewer, editor = bearer(world.keys["a_viewer"]), bearer(world.keys["a_editor"])
        mine, theirs = world.rules["a"], world.rules["b"]

        listed = await client.get("/api/v1/notification-rules", headers=viewer)
        assert [r["id"] for r in listed.json()["rules"]] == [mine]
        assert (await client.get(f"/api/v1/notification-rules/{mine}", headers=viewer)).is_success
        created = await client.post("/api/v1/notification-rules", json=RULE, headers=viewer)
        assert created.status_code == 403, created.text
        patched = await client.patch(
            f"/api/v1/notification-rules/{mine}", json={"enabled": False}, headers=viewer
        )
        assert patched.status_code == 403

        created = await client.post("/api/v1/notification-rules", json=RULE, headers=editor)
        assert created.status_code == 201, created.text
        assert created.json()["project_id"] == world.projects["a"]
        into_b = await client.post(
            "/api/v1/notification-rules",
            json={**RULE, "experiment_ids": [world.experiments["b"]]},
            headers=editor,
        )
        assert into_b.status_code == 404, into_b.text
        for method in ("GET", "PATCH", "DELETE"):
            response = await client.request(
                method,
                f"/api/v1/notification-rules/{theirs}",
                headers=editor,
                json={"enabled": False} if method == "PATCH" else None,
            )
            assert response.status_code == 404, (method, response.text)
        tested = await client.post(f"/api/v1/notification-rules/{theirs}/test", headers=editor)
        assert tested.status_code == 404


async def test_with_auth_off_a_rule_belongs_to_no_project(client: httpx.AsyncClient) -> None:
    # With auth off (the embedded default) everything is one open project.
    response = await client.post("/api/v1/notification-rules", json=RULE)
    assert response.status_code == 201, response.text
    assert response.json()["project_id"] is None
