"""The one authorization decision point: an app-wide dependency run before every route.

It looks up the route's decision (`access_policy`), resolves the experiments, runs and
projects the request names to their projects, and checks the caller's role there.
Something in a project the caller is not in answers 404 exactly like something that
does not exist, so ids do not leak; a viewer who tries to write gets 403. (Which cached
reads a write makes stale follows from the events it records: `cache_invalidation`.)
"""

import contextlib
from collections.abc import Collection
from dataclasses import dataclass, field

import orjson
from sqlalchemy.ext.asyncio import AsyncSession
from starlette.requests import HTTPConnection

from trackboard.server.accounts import service as accounts
from trackboard.server.accounts.roles import Role
from trackboard.server.backends.cache import Cache, CacheUnavailableError
from trackboard.server.backends.cache_aside import ReadThroughCache
from trackboard.server.backends.database import Database
from trackboard.server.errors import InvalidParameter, NotFound
from trackboard.server.gateway.access_policy import Access, Decision, decide
from trackboard.server.gateway.denials import PermissionDeniedError, UnauthenticatedError
from trackboard.server.gateway.principal import ANONYMOUS, OPEN_PRINCIPAL, Principal
from trackboard.server.gateway.request_targets import Targets, find_targets
from trackboard.server.logged_models import service as logged_models
from trackboard.server.notifications import service as notifications

NEEDED_ROLE = {Access.READ: Role.VIEWER, Access.WRITE: Role.EDITOR, Access.OWNER: Role.OWNER}
# Which project owns an experiment, and which experiment a run is in, never change.
OWNER_TTL_S = 3600.0
NO_PROJECT = -1


@dataclass
class Resolved:
    """Experiment id → project (None: no project) for every named thing that exists."""

    experiments: dict[int, int | None]
    runs: dict[str, int]
    named: dict[str, list[int | None]]
    # Notification rule id → its project (None: none), for every named rule that exists.
    rules: dict[int, int | None]
    # Logged model id → its experiment, for every named model that exists.
    models: dict[str, int] = field(default_factory=dict)


async def _cached_ints(cache: Cache, keys: list[str]) -> list[int | None]:
    values: list[int | None] = []
    for key in keys:
        try:
            raw = await cache.get(key)
        except CacheUnavailableError:
            raw = None
        values.append(None if raw is None else int(raw))
    return values


async def _store(cache: Cache, key: str, value: int) -> None:
    with contextlib.suppress(CacheUnavailableError):
        await cache.set(key, str(value).encode(), OWNER_TTL_S)


async def experiments_named(
    reads: ReadThroughCache, session: AsyncSession, name: str
) -> list[tuple[int, int | None]]:
    """The experiments called `name` with their projects; with the database unreachable,
    the last known answer, so that MLflow's `experiments/get-by-name` is authorized and
    answered degraded as `experiments/get` is. (A stale answer grants nothing new: the
    caller's role is checked on the experiments it names.)"""

    async def compute() -> bytes:
        return orjson.dumps(await accounts.experiments_named(session, name))

    cached = await reads.last_known_or_compute("owner_named", name, compute)
    return [(int(e), None if p is None else int(p)) for e, p in orjson.loads(cached.body)]


async def resolve(database: Database, reads: ReadThroughCache, targets: Targets) -> Resolved:
    cache = reads.cache
    runs: dict[str, int] = {}
    run_ids = sorted(targets.run_ids)
    for run_id, experiment_id in zip(
        run_ids, await _cached_ints(cache, [f"owner:run:{r}" for r in run_ids]), strict=True
    ):
        if experiment_id is not None:
            runs[run_id] = experiment_id
    experiments: dict[int, int | None] = {}
    missing_runs = [r for r in run_ids if r not in runs]
    async with database.transaction(write=False) as session:
        models = await logged_models.model_experiments(session, sorted(targets.model_ids))
        if missing_runs:
            found = await accounts.run_experiments(session, missing_runs)
            for run_id, experiment_id in found.items():
                runs[run_id] = experiment_id
                await _store(cache, f"owner:run:{run_id}", experiment_id)
        wanted = sorted(targets.experiment_ids | set(runs.values()) | set(models.values()))
        cached = await _cached_ints(cache, [f"owner:exp:{e}" for e in wanted])
        for experiment_id, project in zip(wanted, cached, strict=True):
            if project is not None:
                experiments[experiment_id] = None if project == NO_PROJECT else project
        missing = [e for e in wanted if e not in experiments]
        if missing:
            found_projects = await accounts.experiment_projects(session, missing)
            for experiment_id, owner in found_projects.items():
                experiments[experiment_id] = owner
                await _store(
                    cache, f"owner:exp:{experiment_id}", NO_PROJECT if owner is None else owner
                )
        named: dict[str, list[int | None]] = {}
        for name in targets.experiment_names:
            found_named = await experiments_named(reads, session, name)
            named[name] = [owner for _, owner in found_named]
            experiments.update(found_named)
        rules: dict[int, int | None] = {}
        if targets.notification_rule_ids:
            rules = await notifications.rule_projects(session, targets.notification_rule_ids)
    return Resolved(experiments, runs, named, rules, models)


async def remember_run_owner(connection: HTTPConnection, run_id: str, experiment_id: int) -> None:
    """Note a run's experiment as `resolve` notes what it found: for a run whose creation
    waits in the replay queue while the database is unreachable, so that its next writes
    can be authorized meanwhile (as writes to that experiment, which its creator may do)."""
    gateway = getattr(connection.app.state, "gateway", None)
    if gateway is not None:
        await _store(gateway.reads.cache, f"owner:run:{run_id}", experiment_id)


def hidden_or_missing(kind: str, ident: object) -> NotFound:
    """The same 404 whether it does not exist or belongs to another project."""
    shown = repr(ident) if isinstance(ident, str) else str(ident)
    return NotFound(f"{kind} {shown} does not exist")


def check_role(
    principal: Principal, project: int | None, needed: Role | None, hidden: NotFound
) -> None:
    role = principal.role_in(project)
    if role is None:
        raise hidden
    if needed is not None and role < needed:
        raise PermissionDeniedError(
            f"the {role.label} role cannot do this; it needs {needed.label} or higher"
        )


def creation_project(principal: Principal, targets: Targets) -> int | None:
    """Where something created without a named target goes."""
    if targets.project_hint is not None:
        return targets.project_hint
    if principal.default_project is not None:
        return principal.default_project
    editable = [p for p, role in principal.roles.items() if role >= Role.EDITOR]
    if len(editable) == 1:
        return editable[0]
    if principal.unrestricted:
        return None
    raise InvalidParameter("say which project this goes to: set project_id")


def principal_of(connection: HTTPConnection, auth: bool) -> Principal:
    principal = connection.scope.get("state", {}).get("principal")
    if isinstance(principal, Principal):
        return principal
    return ANONYMOUS if auth else OPEN_PRINCIPAL


async def authorize(connection: HTTPConnection) -> None:
    """Fail closed: a route without a decision is refused, even with auth off.

    The ids a request names are parsed here in every mode, with the parser the routes use
    (`identifiers`): a spelling that parser refuses is a 400 before any handler runs, so the
    checked value and the used value are always the same.
    """
    route = connection.scope.get("route")
    template = str(getattr(route, "path", ""))
    websocket = connection.scope["type"] == "websocket"
    method = "WEBSOCKET" if websocket else connection.scope.get("method", "GET")
    decision = decide(method, template)
    if decision is None:
        raise PermissionDeniedError(f"{method} {template} has no access decision")
    if decision.access is Access.PUBLIC:
        return
    gateway = getattr(connection.app.state, "gateway", None)
    if gateway is None:
        return
    principal = principal_of(connection, gateway.auth)
    enforce = gateway.auth and not principal.unrestricted
    if gateway.auth and not principal.authenticated:
        raise UnauthenticatedError("credentials are required: an API key or a login session")
    targets = await find_targets(connection, template)
    scoped = decision.access in NEEDED_ROLE and not decision.unscoped
    if enforce and scoped and targets.empty:
        raise InvalidParameter("the request names no experiment, run or project")
    writes = decision.access in (Access.WRITE, Access.OWNER)
    if not enforce and not writes:
        return
    state = connection.scope.setdefault("state", {})
    if enforce:
        resolved = await resolve(gateway.database, gateway.reads, targets)
        enforce_roles(principal, decision, targets, resolved)
    if writes and targets.empty:
        project = creation_project(principal, targets) if gateway.auth else None
        if enforce:
            if decision.access is Access.OWNER:
                raise PermissionDeniedError("only a project owner can do this")
            check_role(principal, project, Role.EDITOR, hidden_or_missing("project", project))
        state["project_id"] = project


def enforce_roles(
    principal: Principal, decision: Decision, targets: Targets, resolved: Resolved
) -> None:
    needed = NEEDED_ROLE.get(decision.access)
    if targets.unscoped:
        raise NotFound("artifact paths start with an experiment id and a run id")
    for project_id in sorted(targets.project_ids):
        check_role(principal, project_id, needed, hidden_or_missing("project", project_id))
    for experiment_id in sorted(targets.experiment_ids):
        hidden = hidden_or_missing("experiment", experiment_id)
        if experiment_id not in resolved.experiments:
            raise hidden
        check_role(principal, resolved.experiments[experiment_id], needed, hidden)
    for run_id in sorted(targets.run_ids):
        hidden = hidden_or_missing("run", run_id)
        if run_id not in resolved.runs:
            raise hidden
        check_role(principal, resolved.experiments.get(resolved.runs[run_id]), needed, hidden)
    for model_id in sorted(targets.model_ids):
        hidden = hidden_or_missing("logged model", model_id)
        if model_id not in resolved.models:
            raise hidden
        check_role(principal, resolved.experiments.get(resolved.models[model_id]), needed, hidden)
    for rule_id in sorted(targets.notification_rule_ids):
        hidden = hidden_or_missing("notification rule", rule_id)
        if rule_id not in resolved.rules:
            raise hidden
        check_role(principal, resolved.rules[rule_id], needed, hidden)
    for name in sorted(targets.experiment_names):
        # A name may be held by several experiments (deleted ones keep theirs) and the
        # by-name routes pick one by their own rule: the caller must be allowed to read
        # every experiment the name could be read as, or it names nothing for them.
        hidden = hidden_or_missing("experiment", name)
        owners = resolved.named.get(name, [])
        if not owners:
            raise hidden
        for project in owners:
            check_role(principal, project, needed, hidden)


async def check_read_access(
    connection: HTTPConnection,
    *,
    experiment_ids: Collection[int] = (),
    run_ids: Collection[str] = (),
) -> None:
    """For checks inside a route (a live subscription): NotFound unless the caller may read."""
    gateway = getattr(connection.app.state, "gateway", None)
    if gateway is None or not gateway.auth:
        return
    principal = principal_of(connection, gateway.auth)
    if principal.unrestricted:
        return
    targets = Targets(experiment_ids=set(experiment_ids), run_ids=set(run_ids))
    resolved = await resolve(gateway.database, gateway.reads, targets)
    enforce_roles(principal, Decision(Access.READ), targets, resolved)
