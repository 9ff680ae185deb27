"""Saved views follow the project roles: viewers read, editors manage, other projects see
nothing (auth on, both stores)."""

from tests.gateway.harness import auth_settings, bearer, running_app, seed_world
from trackboard.server.config import Settings

VIEW = {"name": "shared", "state": {"filter": "params.lr > 0", "group": "params.lr"}}


async def test_saved_views_follow_the_project_roles(settings: Settings) -> None:
    async with running_app(auth_settings(settings, rate_limit=False)) as (app, client):
        world = await seed_world(app, client)
        viewer, editor = bearer(world.keys["a_viewer"]), bearer(world.keys["a_editor"])
        mine, theirs = world.experiments["a"], world.experiments["b"]
        base = f"/api/v1/experiments/{mine}/views"

        refused = await client.post(base, json=VIEW, headers=viewer)
        assert refused.status_code == 403, refused.text
        created = await client.post(base, json=VIEW, headers=editor)
        assert created.status_code == 201, created.text
        view_id = created.json()["id"]
        assert created.json()["created_by"] != ""

        listed = await client.get(base, headers=viewer)
        assert [v["id"] for v in listed.json()["views"]] == [view_id]
        assert (await client.get(f"{base}/{view_id}", headers=viewer)).is_success
        patched = await client.patch(f"{base}/{view_id}", json={"name": "x"}, headers=viewer)
        assert patched.status_code == 403, patched.text
        deleted = await client.delete(f"{base}/{view_id}", headers=viewer)
        assert deleted.status_code == 403, deleted.text

        # B's experiment is refused to A's editor, with or without a view id of A.
        other = f"/api/v1/experiments/{theirs}/views"
        for method, path in (
            ("GET", other),
            ("POST", other),
            ("GET", f"{other}/{view_id}"),
            ("PATCH", f"{other}/{view_id}"),
            ("DELETE", f"{other}/{view_id}"),
        ):
            response = await client.request(
                method, path, json=VIEW if method != "GET" else None, headers=editor
            )
            assert response.status_code in (403, 404), (method, path, response.text)
        b_editor = bearer(world.keys["b_editor"])
        # B's editor names B's experiment (allowed) and A's view id: not found there.
        sneaked = await client.get(f"{other}/{view_id}", headers=b_editor)
        assert sneaked.status_code == 404, sneaked.text

        renamed = await client.patch(f"{base}/{view_id}", json={"name": "x"}, headers=editor)
        assert renamed.status_code == 200, renamed.text
        gone = await client.delete(f"{base}/{view_id}", headers=editor)
        assert gone.status_code == 204, gone.text
