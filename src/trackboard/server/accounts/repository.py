"""SQL for users, projects, memberships, API keys, and which project owns what."""

from collections.abc import Collection, Sequence

from sqlalchemy import delete, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from trackboard.server.models import (
    ApiKey,
    Experiment,
    LoginSessionRecord,
    Project,
    ProjectMember,
    Run,
    User,
)


async def select_user_by_name(session: AsyncSession, username: str) -> User | None:
    return (await session.scalars(select(User).where(User.username == username))).first()


async def select_user(session: AsyncSession, user_id: int) -> User | None:
    return await session.get(User, user_id)


async def select_project(session: AsyncSession, project_id: int) -> Project | None:
    return await session.get(Project, project_id)


async def select_project_by_name(session: AsyncSession, name: str) -> Project | None:
    return (await session.scalars(select(Project).where(Project.name == name))).first()


async def select_projects(
    session: AsyncSession, project_ids: Collection[int] | None
) -> Sequence[Project]:
    query = select(Project).order_by(Project.id)
    if project_ids is not None:
        query = query.where(Project.id.in_(list(project_ids)))
    return (await session.scalars(query)).all()


async def select_memberships(session: AsyncSession, user_id: int) -> dict[int, str]:
    query = select(ProjectMember.project_id, ProjectMember.role).where(
        ProjectMember.user_id == user_id
    )
    return dict((await session.execute(query)).all())


async def select_member(
    session: AsyncSession, project_id: int, user_id: int
) -> ProjectMember | None:
    return await session.get(ProjectMember, (project_id, user_id))


async def select_members(session: AsyncSession, project_id: int) -> list[tuple[str, str]]:
    query = (
        select(User.username, ProjectMember.role)
        .join(User, User.id == ProjectMember.user_id)
        .where(ProjectMember.project_id == project_id)
        .order_by(User.username)
    )
    return [(username, role) for username, role in (await session.execute(query)).all()]


async def select_api_key_by_hash(session: AsyncSession, key_hash: str) -> ApiKey | None:
    return (await session.scalars(select(ApiKey).where(ApiKey.key_hash == key_hash))).first()


async def select_api_key_by_prefix(session: AsyncSession, prefix: str) -> ApiKey | None:
    return (await session.scalars(select(ApiKey).where(ApiKey.prefix == prefix))).first()


async def select_api_key(session: AsyncSession, key_id: int) -> ApiKey | None:
    return await session.get(ApiKey, key_id)


async def select_api_keys(session: AsyncSession, project_id: int | None) -> Sequence[ApiKey]:
    query = select(ApiKey).order_by(ApiKey.id)
    if project_id is not None:
        query = query.where(ApiKey.project_id == project_id)
    return (await session.scalars(query)).all()


async def update_api_key_last_used(session: AsyncSession, key_id: int, now: int) -> None:
    await session.execute(update(ApiKey).where(ApiKey.id == key_id).values(last_used_at=now))


async def select_experiment_projects(
    session: AsyncSession, experiment_ids: Collection[int]
) -> dict[int, int | None]:
    """The owning project of each experiment that exists."""
    query = select(Experiment.id, Experiment.project_id).where(
        Experiment.id.in_(list(experiment_ids))
    )
    return dict((await session.execute(query)).all())


async def select_experiment_project_by_name(
    session: AsyncSession, name: str
) -> list[tuple[int, int | None]]:
    query = select(Experiment.id, Experiment.project_id).where(Experiment.name == name)
    return [(experiment_id, project) for experiment_id, project in (await session.execute(query))]


async def select_run_experiments(session: AsyncSession, run_ids: Collection[str]) -> dict[str, int]:
    query = select(Run.id, Run.experiment_id).where(Run.id.in_(list(run_ids)))
    return dict((await session.execute(query)).all())


def insert_login_session(session: AsyncSession, record: LoginSessionRecord) -> None:
    session.add(record)


async def select_login_session(session: AsyncSession, token_hash: str) -> LoginSessionRecord | None:
    return await session.get(LoginSessionRecord, token_hash)


async def delete_login_session(session: AsyncSession, token_hash: str) -> None:
    await session.execute(
        delete(LoginSessionRecord).where(LoginSessionRecord.token_hash == token_hash)
    )


async def delete_expired_login_sessions(session: AsyncSession, user_id: int, now_ms: int) -> None:
    await session.execute(
        delete(LoginSessionRecord).where(
            LoginSessionRecord.user_id == user_id, LoginSessionRecord.expires_at <= now_ms
        )
    )
