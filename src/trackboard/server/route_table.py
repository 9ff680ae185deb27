"""Exact-path dispatch for the hottest small calls: MLflow's `log-metric` and `log-batch`.

FastAPI (0.165) finds a route by trying the routes in order at every level of included
routers, and does it twice (a match, then the selected router's handling): a `log-metric`
request tries ~117 routes (the v1 routers come first) before its own, about a third of
the request path's CPU under wrk (docs/benchmarks-mlflow.md). This table maps a few
static (method, path) pairs to the route FastAPI itself selects for them, found once at
start-up by FastAPI's own `matches` in FastAPI's order (a path an earlier route would take
is never tabled), prepares the request's scope the way FastAPI's routers do, and hands it
to that same route. So a tabled call runs the same dependencies (the gateway's
`authorize`), the same parser, handler and error replies; every other request goes through
FastAPI's router untouched. It uses FastAPI's private routing helpers, hence the pinned
FastAPI version and the test that compares the scope it prepares with FastAPI's.
"""

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from fastapi import FastAPI
from fastapi.routing import (
    _FASTAPI_EFFECTIVE_ROUTE_CONTEXT_KEY,
    _FASTAPI_INCLUDED_ROUTER_KEY,
    APIRoute,
    _EffectiveRouteContext,
    _get_fastapi_scope,
    _IncludedRouter,
    _update_scope,
)
from fastapi.telemetry._api import _route_selected
from starlette.routing import BaseRoute, Match
from starlette.types import ASGIApp, Receive, Scope, Send


@dataclass(frozen=True)
class Selection:
    """What FastAPI's routers select for one path: the route, its context as included
    (prefix, dependencies, body limit) and the included router that holds it."""

    route: APIRoute
    context: _EffectiveRouteContext
    holder: _IncludedRouter


def _probe(method: str, path: str) -> Scope:
    return {"type": "http", "method": method, "path": path, "root_path": "", "headers": []}


def _first_full(
    candidates: Iterable[BaseRoute | _EffectiveRouteContext | _IncludedRouter],
    scope: Scope,
    holder: _IncludedRouter | None,
) -> Selection | BaseRoute | None:
    """The first route that fully matches, depth first in FastAPI's order (what its routers
    select: a full match anywhere wins over earlier partial ones). A route FastAPI would
    select that is not an APIRoute is returned as is, so the caller leaves that path alone."""
    for candidate in candidates:
        if isinstance(candidate, _IncludedRouter):
            found = _first_full(candidate.effective_candidates(), scope, candidate)
            if found is not None:
                return found
            continue
        match, _ = candidate.matches(scope)
        if match != Match.FULL:
            continue
        if (
            isinstance(candidate, _EffectiveRouteContext)
            and isinstance(candidate.original_route, APIRoute)
            and holder is not None
        ):
            return Selection(candidate.original_route, candidate, holder)
        return candidate if isinstance(candidate, BaseRoute) else candidate.original_route
    return None


def _no_form_limits(app: FastAPI, selection: Selection) -> bool:
    # Routers with form limits put them in the scope on the way down; none of the tabled
    # routes' routers has any, and a path whose routers had them is left to FastAPI.
    return not app.router.form_limits and not selection.holder.include_context.form_limits


def select_routes(
    app: FastAPI, paths: Sequence[tuple[str, str]]
) -> dict[tuple[str, str], Selection]:
    """FastAPI's selection for each (method, path) it gives to an APIRoute."""
    table: dict[tuple[str, str], Selection] = {}
    for method, path in paths:
        found = _first_full(app.router.routes, _probe(method, path), None)
        if isinstance(found, Selection) and _no_form_limits(app, found):
            table[(method, path)] = found
    return table


class RouteTable:
    """The app's router with the tabled paths dispatched by dictionary lookup."""

    def __init__(self, app: FastAPI, router: ASGIApp, table: dict[tuple[str, str], Selection]):
        self.app = app
        self.router = router
        self.table = table

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        selection = None
        if scope["type"] == "http":
            selection = self.table.get((scope["method"], scope["path"]))
        if selection is None or scope.get("root_path"):
            await self.router(scope, receive, send)
            return
        # What FastAPI's routers write into the scope on their way to this route.
        scope.setdefault("router", self.app.router)
        context = selection.context
        fastapi_scope = _get_fastapi_scope(scope)
        fastapi_scope[_FASTAPI_INCLUDED_ROUTER_KEY] = selection.holder
        fastapi_scope[_FASTAPI_EFFECTIVE_ROUTE_CONTEXT_KEY] = context
        _, child_scope = selection.route.matches(scope)
        _update_scope(scope, child_scope)
        _route_selected(scope=scope, path=context.path_format, mount=False)
        scope["route"] = selection.route
        await selection.route.handle(scope, receive, send)


def install_route_table(app: FastAPI, paths: Sequence[tuple[str, str]]) -> None:
    """Put the table in front of the app's routes; called once every route is included.

    Router-level middleware (none today) would sit between the two: then nothing is
    tabled rather than letting tabled calls pass it by."""
    if app.router.middleware_stack != app.router.app:
        return
    table = select_routes(app, paths)
    app.router.middleware_stack = RouteTable(app, app.router.app, table)
