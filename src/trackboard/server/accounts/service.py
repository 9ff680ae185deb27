"""Account rules: unique names, strong passwords, keys shown once, memberships with roles.

Membership changes and key revocations record events (`project.member_changed`,
`api_key.revoked`): the credential cache forgets what they make stale after the commit.
"""

from collections.abc import Collection
from dataclasses import dataclass

from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from trackboard.server.accounts import credentials, repository
from trackboard.server.accounts.roles import Role
from trackboard.server.clock import now_ms
from trackboard.server.errors import AlreadyExists, InvalidParameter, NotFound
from trackboard.server.events import Event, record
from trackboard.server.identifiers import parse_id
from trackboard.server.models import ApiKey, LoginSessionRecord, Project, ProjectMember, User

MAX_NAME_LENGTH = 150


@dataclass(frozen=True)
class KeyIdentity:
    """What a valid API key grants: one role in one project, on behalf of a user or not."""

    key_id: int
    prefix: str
    project_id: int
    role: Role
    user_id: int | None
    last_used_at: int | None


def check_name(kind: str, name: str) -> str:
    name = name.strip()
    if not name or len(name) > MAX_NAME_LENGTH or any(ord(c) < 32 for c in name):
        raise InvalidParameter(f"{kind} name must have 1 to {MAX_NAME_LENGTH} printable characters")
    return name


async def create_user(
    session: AsyncSession, username: str, password: str, *, is_admin: bool = False
) -> User:
    username = check_name("user", username)
    try:
        credentials.check_password_strength(password)
    except ValueError as exc:
        raise InvalidParameter(str(exc)) from exc
    if await repository.select_user_by_name(session, username) is not None:
        raise AlreadyExists(f"user {username!r} already exists")
    user = User(
        username=username,
        password_hash=credentials.hash_password(password),
        is_admin=is_admin,
        created_at=now_ms(),
    )
    try:
        async with session.begin_nested():
            session.add(user)
    except IntegrityError as exc:
        raise AlreadyExists(f"user {username!r} already exists") from exc
    return user


async def authenticate_user(session: AsyncSession, username: str, password: str) -> User | None:
    """The user if the password matches; the same argon2 work whether or not it exists."""
    user = await repository.select_user_by_name(session, username)
    active = user is not None and user.disabled_at is None
    hashed = user.password_hash if user is not None and active else None
    if not credentials.verify_password(hashed, password):
        return None
    return user


async def get_user(session: AsyncSession, user_id: int) -> User | None:
    return await repository.select_user(session, user_id)


async def get_user_by_name(session: AsyncSession, username: str) -> User:
    user = await repository.select_user_by_name(session, username)
    if user is None:
        raise NotFound(f"user {username!r} does not exist")
    return user


async def get_memberships(session: AsyncSession, user_id: int) -> dict[int, Role]:
    return {
        project_id: Role.parse(role)
        for project_id, role in (await repository.select_memberships(session, user_id)).items()
    }


def record_member_changed(
    session: AsyncSession, project_id: int, user_id: int, role: Role | None
) -> None:
    data = {"user_id": user_id, "role": None if role is None else role.label}
    record(session, Event("project.member_changed", data, project_id=project_id))


async def create_project(
    session: AsyncSession, name: str, owner_user_id: int | None = None
) -> Project:
    name = check_name("project", name)
    if await repository.select_project_by_name(session, name) is not None:
        raise AlreadyExists(f"project {name!r} already exists")
    project = Project(name=name, created_at=now_ms())
    try:
        async with session.begin_nested():
            session.add(project)
    except IntegrityError as exc:
        raise AlreadyExists(f"project {name!r} already exists") from exc
    if owner_user_id is not None:
        session.add(
            ProjectMember(project_id=project.id, user_id=owner_user_id, role=Role.OWNER.label)
        )
        await session.flush()
        record_member_changed(session, project.id, owner_user_id, Role.OWNER)
    return project


async def get_or_create_project(session: AsyncSession, name: str) -> tuple[Project, bool]:
    project = await repository.select_project_by_name(session, check_name("project", name))
    if project is not None:
        return project, False
    return await create_project(session, name), True


async def get_project(session: AsyncSession, project_id: int) -> Project:
    project = await repository.select_project(session, project_id)
    if project is None:
        raise NotFound(f"project {project_id} does not exist")
    return project


async def get_project_by_name(session: AsyncSession, name: str) -> Project:
    project = await repository.select_project_by_name(session, name)
    if project is None:
        raise NotFound(f"project {name!r} does not exist")
    return project


async def list_projects(
    session: AsyncSession, project_ids: Collection[int] | None
) -> list[Project]:
    return list(await repository.select_projects(session, project_ids))


async def set_member(session: AsyncSession, project_id: int, username: str, role: Role) -> None:
    await get_project(session, project_id)
    user = await get_user_by_name(session, username)
    member = await repository.select_member(session, project_id, user.id)
    if member is None:
        session.add(ProjectMember(project_id=project_id, user_id=user.id, role=role.label))
    else:
        member.role = role.label
    await session.flush()
    record_member_changed(session, project_id, user.id, role)


async def remove_member(session: AsyncSession, project_id: int, username: str) -> None:
    user = await get_user_by_name(session, username)
    member = await repository.select_member(session, project_id, user.id)
    if member is None:
        raise NotFound(f"{username!r} is not a member of project {project_id}")
    await session.delete(member)
    await session.flush()
    record_member_changed(session, project_id, user.id, None)


async def list_members(session: AsyncSession, project_id: int) -> list[tuple[str, Role]]:
    return [
        (username, Role.parse(role))
        for username, role in await repository.select_members(session, project_id)
    ]


async def create_api_key(
    session: AsyncSession,
    project_id: int,
    role: Role,
    *,
    name: str = "",
    user_id: int | None = None,
) -> tuple[ApiKey, str]:
    """A new key for one project and role; the key itself is returned here and never again."""
    await get_project(session, project_id)
    if len(name) > MAX_NAME_LENGTH:
        raise InvalidParameter(f"key name has at most {MAX_NAME_LENGTH} characters")
    key, prefix, key_hash = credentials.new_api_key()
    api_key = ApiKey(
        prefix=prefix,
        key_hash=key_hash,
        project_id=project_id,
        role=role.label,
        user_id=user_id,
        name=name,
        created_at=now_ms(),
    )
    session.add(api_key)
    await session.flush()
    return api_key, key


async def identify_api_key(session: AsyncSession, key: str) -> KeyIdentity | None:
    """What an unrevoked key grants, found by the SHA-256 of the presented key."""
    if not credentials.looks_like_api_key(key):
        return None
    key_hash = credentials.hash_api_key(key)
    api_key = await repository.select_api_key_by_hash(session, key_hash)
    # The lookup already matched the digest; comparing again costs nothing and keeps the
    # equality check constant-time even if the index were ever swapped for a prefix scan.
    if api_key is None or not credentials.same_digest(api_key.key_hash, key_hash):
        return None
    if api_key.revoked_at is not None:
        return None
    return KeyIdentity(
        key_id=api_key.id,
        prefix=api_key.prefix,
        project_id=api_key.project_id,
        role=Role.parse(api_key.role),
        user_id=api_key.user_id,
        last_used_at=api_key.last_used_at,
    )


async def record_key_use(session: AsyncSession, key_id: int) -> None:
    await repository.update_api_key_last_used(session, key_id, now_ms())


async def list_api_keys(session: AsyncSession, project_id: int | None) -> list[ApiKey]:
    return list(await repository.select_api_keys(session, project_id))


async def find_api_key(session: AsyncSession, key_or_id: str) -> ApiKey:
    """A key by its id, its public prefix, or the whole key."""
    text = key_or_id.strip()
    api_key: ApiKey | None
    if text.isascii() and text.isdigit():
        api_key = await repository.select_api_key(session, parse_id(text, "key ID"))
    elif credentials.looks_like_api_key(text) and len(text) > len(credentials.key_prefix(text)):
        api_key = await repository.select_api_key_by_hash(session, credentials.hash_api_key(text))
    else:
        api_key = await repository.select_api_key_by_prefix(session, text)
    if api_key is None:
        raise NotFound("no such API key")
    return api_key


async def revoke_api_key(session: AsyncSession, api_key: ApiKey) -> ApiKey:
    if api_key.revoked_at is None:
        api_key.revoked_at = now_ms()
        await session.flush()
        record(
            session,
            Event(
                "api_key.revoked",
                {"key_id": api_key.id},
                project_id=api_key.project_id,
                local=api_key.key_hash,
            ),
        )
    return api_key


async def experiment_projects(
    session: AsyncSession, experiment_ids: Collection[int]
) -> dict[int, int | None]:
    """The owning project (or None) of each of these experiments that exists."""
    return await repository.select_experiment_projects(session, experiment_ids)


async def experiments_named(session: AsyncSession, name: str) -> list[tuple[int, int | None]]:
    return await repository.select_experiment_project_by_name(session, name)


async def run_experiments(session: AsyncSession, run_ids: Collection[str]) -> dict[str, int]:
    return await repository.select_run_experiments(session, run_ids)


async def start_login_session(
    session: AsyncSession, token_hash: str, user_id: int, csrf_token: str, expires_at_ms: int
) -> None:
    """Keep a new login session; the user's expired ones go at the same time (each login
    cleans up after its own user, so the table holds live sessions and a few stale ones)."""
    await repository.delete_expired_login_sessions(session, user_id, now_ms())
    repository.insert_login_session(
        session,
        LoginSessionRecord(
            token_hash=token_hash, user_id=user_id, csrf_token=csrf_token, expires_at=expires_at_ms
        ),
    )


async def find_login_session(session: AsyncSession, token_hash: str) -> LoginSessionRecord | None:
    """The session, if it exists and has not expired."""
    record = await repository.select_login_session(session, token_hash)
    return record if record is not None and record.expires_at > now_ms() else None


async def end_login_session(session: AsyncSession, token_hash: str) -> None:
    await repository.delete_login_session(session, token_hash)
