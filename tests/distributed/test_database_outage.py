"""PostgreSQL cut (through a TCP proxy, never by stopping the shared server): every route of
the route table answers something a client can act on, never a 500; it all works again
once the database is back."""

from tests.databases import PostgresDatabases
from tests.distributed.proxied_settings import proxied_settings
from tests.distributed.recovery import until_served
from tests.distributed.tcp_proxy import TcpProxy
from tests.gateway.harness import bearer, running_app, seed_world
from tests.gateway.test_route_table import concrete, mlflow_body, route_table


async def test_no_route_answers_500_while_postgresql_is_cut(
    tmp_path: object, pg_url: str, postgres_databases: PostgresDatabases
) -> None:
    proxy = TcpProxy("127.0.0.1", 5432)
    await proxy.start()
    settings = proxied_settings(pg_url, proxy.port, ingest_commit_timeout_s=2.0)
    try:
        async with running_app(settings) as (app, client):
            world = await seed_world(app, client)
            cached = bearer(world.keys["a_owner"])  # used by seed_world: its identity is cached
            unknown = bearer(world.keys["a_viewer"])  # never used: checking it needs the database
            assert (await client.get("/api/v1/experiments", headers=cached)).status_code == 200
            proxy.cut()
            answers: dict[int, int] = {}
            served_500 = []
            for method, template in route_table(app):
                if method == "WEBSOCKET":
                    continue
                path = concrete(template, world)
                for headers in (cached, unknown):
                    body = mlflow_body(world, "a")
                    if method == "GET":
                        params = {k: v for k, v in body.items() if not isinstance(v, list)}
                        response = await client.get(path, params=params, headers=headers)
                    else:
                        response = await client.request(method, path, json=body, headers=headers)
                    answers[response.status_code] = answers.get(response.status_code, 0) + 1
                    if response.status_code >= 500 and response.status_code != 503:
                        served_500.append((method, path, response.status_code, response.text[:200]))
                    if response.status_code == 503:
                        assert "Retry-After" in response.headers, (method, path)
            print(f"answers with PostgreSQL cut: {dict(sorted(answers.items()))}")
            assert served_500 == []
            assert answers.get(503, 0) > 50
            assert (await client.get("/healthz")).status_code == 200
            ready = await client.get("/readyz")
            assert ready.status_code == 503
            assert "Retry-After" in ready.headers
            assert ready.json()["dependencies"]["database"]["up"] is False
            proxy.restore()
            recovered = await until_served(client, "/api/v1/experiments", unknown)
            assert recovered.status_code == 200, recovered.text
    finally:
        await proxy.close()
