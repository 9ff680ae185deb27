"""SQL for logged models, their params, tags and metrics, and the run↔model links."""

from collections.abc import Sequence
from typing import Any

from sqlalchemy import ColumnElement, Select, and_, case, delete, func, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from trackboard.server.models import (
    LoggedModel,
    LoggedModelMetric,
    LoggedModelParam,
    LoggedModelTag,
    RunModelLink,
)
from trackboard.server.search.filter_parser import Comparison, Identifier

ATTRIBUTE_COLUMNS: dict[str, Any] = {
    "name": LoggedModel.name,
    "model_id": LoggedModel.id,
    "model_type": LoggedModel.model_type,
    "status": LoggedModel.status,
    "source_run_id": LoggedModel.source_run_id,
    "creation_timestamp_ms": LoggedModel.creation_time,
    "last_updated_timestamp_ms": LoggedModel.last_update_time,
}


async def select_model(session: AsyncSession, model_id: str) -> LoggedModel | None:
    return await session.get(LoggedModel, model_id)


async def select_params(session: AsyncSession, model_ids: Sequence[str]) -> list[LoggedModelParam]:
    query = select(LoggedModelParam).where(LoggedModelParam.model_id.in_(model_ids))
    return list(await session.scalars(query.order_by(LoggedModelParam.key)))


async def select_tags(session: AsyncSession, model_ids: Sequence[str]) -> list[LoggedModelTag]:
    query = select(LoggedModelTag).where(LoggedModelTag.model_id.in_(model_ids))
    return list(await session.scalars(query.order_by(LoggedModelTag.key)))


async def select_metrics(
    session: AsyncSession, model_ids: Sequence[str]
) -> list[LoggedModelMetric]:
    query = select(LoggedModelMetric).where(LoggedModelMetric.model_id.in_(model_ids))
    return list(await session.scalars(query.order_by(LoggedModelMetric.id)))


async def select_param_values(
    session: AsyncSession, model_id: str, keys: Sequence[str]
) -> dict[str, str]:
    query = select(LoggedModelParam.key, LoggedModelParam.value).where(
        LoggedModelParam.model_id == model_id, LoggedModelParam.key.in_(keys)
    )
    return {row.key: row.value for row in await session.execute(query)}


def insert_params(session: AsyncSession, model_id: str, params: dict[str, str]) -> None:
    session.add_all(LoggedModelParam(model_id=model_id, key=k, value=v) for k, v in params.items())


async def upsert_tags(session: AsyncSession, model_id: str, tags: dict[str, str]) -> None:
    existing = {
        row.key: row
        for row in await session.scalars(
            select(LoggedModelTag).where(
                LoggedModelTag.model_id == model_id, LoggedModelTag.key.in_(list(tags))
            )
        )
    }
    for key, value in tags.items():
        if key in existing:
            existing[key].value = value
        else:
            session.add(LoggedModelTag(model_id=model_id, key=key, value=value))


async def delete_tag(session: AsyncSession, model_id: str, key: str) -> int:
    result = await session.execute(
        delete(LoggedModelTag).where(LoggedModelTag.model_id == model_id, LoggedModelTag.key == key)
    )
    return int(result.rowcount)  # type: ignore[attr-defined]


MetricIdentity = tuple[str, str, float | None, int, int, str | None, str | None, str | None]


def metric_identity(metric: LoggedModelMetric) -> MetricIdentity:
    return (
        metric.model_id,
        metric.key,
        metric.value,
        metric.timestamp,
        metric.step,
        metric.run_id,
        metric.dataset_name,
        metric.dataset_digest,
    )


async def insert_new_metrics(session: AsyncSession, metrics: Sequence[LoggedModelMetric]) -> None:
    """Metrics not already stored: a client's retry of a request stores nothing twice."""
    model_ids = sorted({m.model_id for m in metrics})
    stored = {metric_identity(m) for m in await select_metrics(session, model_ids)}
    for metric in metrics:
        identity = metric_identity(metric)
        if identity not in stored:
            stored.add(identity)
            session.add(metric)


async def select_links(session: AsyncSession, run_ids: Sequence[str]) -> list[RunModelLink]:
    query = select(RunModelLink).where(RunModelLink.run_id.in_(run_ids))
    return list(await session.scalars(query.order_by(RunModelLink.position)))


async def insert_new_links(session: AsyncSession, links: Sequence[RunModelLink]) -> None:
    """Links not already there; each new one goes after the run's last."""
    for link in links:
        found = await session.get(
            RunModelLink, (link.run_id, link.model_id, link.direction, link.step)
        )
        if found is not None:
            continue
        last = await session.scalar(
            select(func.max(RunModelLink.position)).where(RunModelLink.run_id == link.run_id)
        )
        link.position = 0 if last is None else last + 1
        session.add(link)
        await session.flush()


def compare(column: Any, operator: str, value: float | str | tuple[str, ...] | None) -> Any:
    """`column <operator> value` for the operators the logged-model filter allows."""
    operations: dict[str, Any] = {
        "=": lambda: column == value,
        "!=": lambda: column != value,
        ">": lambda: column > value,
        ">=": lambda: column >= value,
        "<": lambda: column < value,
        "<=": lambda: column <= value,
        "LIKE": lambda: column.like(value),
        "ILIKE": lambda: column.ilike(value),
        "IN": lambda: column.in_(value),
        "NOT IN": lambda: column.not_in(value),
    }
    return operations[operator]()


DatasetFilter = tuple[str, str | None]


def _dataset_condition(datasets: Sequence[DatasetFilter]) -> ColumnElement[bool] | None:
    if not datasets:
        return None
    conditions = [
        and_(LoggedModelMetric.dataset_name == name, LoggedModelMetric.dataset_digest == digest)
        if digest
        else LoggedModelMetric.dataset_name == name
        for name, digest in datasets
    ]
    return or_(*conditions)


def _condition(comparison: Comparison, datasets: ColumnElement[bool] | None) -> ColumnElement[bool]:
    target, operator, value = comparison.target, comparison.operator, comparison.value
    if target.kind == "attribute":
        return compare(ATTRIBUTE_COLUMNS[target.key], operator, value)  # type: ignore[no-any-return]
    if target.kind == "metric":
        matches = select(LoggedModelMetric.model_id).where(
            LoggedModelMetric.key == target.key, compare(LoggedModelMetric.value, operator, value)
        )
        if datasets is not None:
            matches = matches.where(datasets)
        return LoggedModel.id.in_(matches)
    table: Any = LoggedModelParam if target.kind == "param" else LoggedModelTag
    return LoggedModel.id.in_(
        select(table.model_id).where(table.key == target.key, compare(table.value, operator, value))
    )


def _latest_metric(key: str, datasets: ColumnElement[bool] | None) -> Any:
    """The model's latest value of `key` (by timestamp, then step), as MLflow sorts by."""
    inner = (
        select(LoggedModelMetric.value)
        .where(LoggedModelMetric.model_id == LoggedModel.id, LoggedModelMetric.key == key)
        .order_by(
            LoggedModelMetric.timestamp.desc(),
            LoggedModelMetric.step.desc(),
            LoggedModelMetric.run_id.asc(),
        )
        .limit(1)
    )
    if datasets is not None:
        inner = inner.where(datasets)
    return inner.scalar_subquery()


OrderField = tuple[Identifier, bool, Sequence[DatasetFilter]]


def search_query(
    experiment_ids: Sequence[int],
    comparisons: Sequence[Comparison],
    datasets: Sequence[DatasetFilter],
    order: Sequence[OrderField],
) -> Select[Any]:
    """Active models of the experiments that pass every comparison, in MLflow's order:
    the terms asked (missing values last), then newest first, then by id."""
    dataset_condition = _dataset_condition(datasets)
    query = select(LoggedModel).where(
        LoggedModel.experiment_id.in_(experiment_ids), LoggedModel.lifecycle_stage != "deleted"
    )
    has_metric_filter = False
    for comparison in comparisons:
        has_metric_filter |= comparison.target.kind == "metric"
        query = query.where(_condition(comparison, dataset_condition))
    if dataset_condition is not None and not has_metric_filter:
        query = query.where(
            LoggedModel.id.in_(select(LoggedModelMetric.model_id).where(dataset_condition))
        )
    terms: list[Any] = []
    for target, ascending, term_datasets in order:
        if target.kind == "metric":
            column = _latest_metric(target.key, _dataset_condition(term_datasets))
        else:
            column = ATTRIBUTE_COLUMNS[target.key]
        terms += [
            case((column.is_(None), 1), else_=0),
            column.asc() if ascending else column.desc(),
        ]
    keys = {target.key for target, _, _ in order if target.kind == "attribute"}
    if "creation_timestamp_ms" not in keys:
        terms.append(LoggedModel.creation_time.desc())
    if "model_id" not in keys:
        terms.append(LoggedModel.id.asc())
    return query.order_by(*terms)


async def select_models(
    session: AsyncSession, query: Select[Any], offset: int, limit: int
) -> list[LoggedModel]:
    return list(await session.scalars(query.offset(offset).limit(limit)))


async def select_model_experiments(
    session: AsyncSession, model_ids: Sequence[str]
) -> dict[str, int]:
    query = select(LoggedModel.id, LoggedModel.experiment_id).where(LoggedModel.id.in_(model_ids))
    return {row.id: row.experiment_id for row in await session.execute(query)}
