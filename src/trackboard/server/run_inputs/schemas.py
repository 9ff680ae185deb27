"""A dataset input as logged: the dataset's fields and the input's tags, all text."""

from dataclasses import dataclass, field

# MLflow's limits (`mlflow.utils.validation`), so what MLflow takes is taken here too.
MAX_DATASET_NAME_LENGTH = 500
MAX_DATASET_DIGEST_LENGTH = 36
MAX_DATASET_SOURCE_LENGTH = 65_535
MAX_DATASET_SCHEMA_LENGTH = 1_048_575
MAX_DATASET_PROFILE_LENGTH = 16_777_215
MAX_INPUT_TAG_KEY_LENGTH = 255
MAX_INPUT_TAG_VALUE_LENGTH = 500


@dataclass(frozen=True)
class DatasetIn:
    name: str
    digest: str
    source_type: str
    source: str
    schema: str | None = None
    profile: str | None = None


@dataclass(frozen=True)
class DatasetInputIn:
    dataset: DatasetIn
    # (key, value) pairs, such as ("mlflow.data.context", "train").
    tags: list[tuple[str, str]] = field(default_factory=list)
