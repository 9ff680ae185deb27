"""Dataset inputs of runs: validated with MLflow's limits, kept once per (name, digest).

As MLflow's store: a dataset input a run already has is not logged again (its first
tags stay), and within one call the first of two inputs of the same dataset wins.
"""

from collections.abc import Sequence

import orjson
from sqlalchemy.ext.asyncio import AsyncSession

from trackboard.server.errors import InvalidParameter
from trackboard.server.models import RunDatasetInput
from trackboard.server.run_inputs import repository
from trackboard.server.run_inputs.schemas import (
    MAX_DATASET_DIGEST_LENGTH,
    MAX_DATASET_NAME_LENGTH,
    MAX_DATASET_PROFILE_LENGTH,
    MAX_DATASET_SCHEMA_LENGTH,
    MAX_DATASET_SOURCE_LENGTH,
    MAX_INPUT_TAG_KEY_LENGTH,
    MAX_INPUT_TAG_VALUE_LENGTH,
    DatasetInputIn,
)
from trackboard.server.runs import service as runs

# The input tag MLflow's clients set to "training", "eval"…; `datasets.context` filters on it.
CONTEXT_TAG = "mlflow.data.context"


def _check_length(name: str, value: str | None, limit: int) -> None:
    if value is not None and len(value) > limit:
        raise InvalidParameter(f"'{name}' exceeds the maximum length of {limit} characters")


def check_input(item: DatasetInputIn) -> None:
    dataset = item.dataset
    _check_length("name", dataset.name, MAX_DATASET_NAME_LENGTH)
    _check_length("digest", dataset.digest, MAX_DATASET_DIGEST_LENGTH)
    _check_length("source", dataset.source, MAX_DATASET_SOURCE_LENGTH)
    _check_length("schema", dataset.schema, MAX_DATASET_SCHEMA_LENGTH)
    _check_length("profile", dataset.profile, MAX_DATASET_PROFILE_LENGTH)
    for key, value in item.tags:
        _check_length("key", key, MAX_INPUT_TAG_KEY_LENGTH)
        _check_length("value", value, MAX_INPUT_TAG_VALUE_LENGTH)


async def log_dataset_inputs(
    session: AsyncSession, run_id: str, inputs: Sequence[DatasetInputIn]
) -> None:
    """Store the run's new dataset inputs; records `run.updated` (changes: inputs) if any."""
    for item in inputs:
        check_input(item)
    run = await runs.get_active_run(session, run_id)
    known = await repository.select_identities(session, run_id)
    position = await repository.next_position(session, run_id)
    rows = []
    for item in inputs:
        dataset = item.dataset
        identity = (dataset.name, dataset.digest)
        if identity in known:
            continue
        known.add(identity)
        tags = [{"key": key, "value": value} for key, value in item.tags]
        rows.append(
            RunDatasetInput(
                run_id=run_id,
                name=dataset.name,
                digest=dataset.digest,
                source_type=dataset.source_type,
                source=dataset.source,
                schema=dataset.schema,
                profile=dataset.profile,
                tags=orjson.dumps(tags).decode(),
                context=dict(item.tags).get(CONTEXT_TAG),
                position=position,
            )
        )
        position += 1
    if rows:
        repository.insert_inputs(session, rows)
        await session.flush()
        await runs.record_run_events(session, run, [("run.updated", {"changes": ["inputs"]})])


async def dataset_inputs(
    session: AsyncSession, run_ids: Sequence[str]
) -> dict[str, list[RunDatasetInput]]:
    """Each run's dataset inputs in the order logged (runs without any are left out)."""
    found: dict[str, list[RunDatasetInput]] = {}
    for row in await repository.select_inputs(session, run_ids):
        found.setdefault(row.run_id, []).append(row)
    return found


def input_tags(row: RunDatasetInput) -> list[dict[str, str]]:
    tags: list[dict[str, str]] = orjson.loads(row.tags)
    return tags
