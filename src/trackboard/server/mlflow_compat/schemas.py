"""MLflow request messages (field names as in MLflow's `service.proto`) and enum translations.

Models are lax on purpose, like protobuf's JSON parsing: int64 fields take numbers or numeric
strings, enums take names or numbers, unknown fields are ignored, repeated fields default to
empty. "Required" is checked by the routes, with MLflow's messages.
"""

from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field, StrictFloat, StrictInt, StrictStr

from trackboard.server.errors import InvalidParameter
from trackboard.server.identifiers import RunId, parse_run_id
from trackboard.server.mlflow_compat.messages import invalid_value, missing_value

RUN_STATUSES = {1: "RUNNING", 2: "SCHEDULED", 3: "FINISHED", 4: "FAILED", 5: "KILLED"}
VIEW_TYPES = {1: "ACTIVE_ONLY", 2: "DELETED_ONLY", 3: "ALL"}
LIFECYCLE_BY_VIEW = {"ACTIVE_ONLY": "active", "DELETED_ONLY": "deleted", "ALL": "all"}

MetricValueIn = StrictFloat | StrictInt | StrictStr
# protobuf's int64: anything larger would only fail later, in the database.
Int64 = Annotated[int, Field(ge=-(2**63), le=2**63 - 1)]


class Message(BaseModel):
    model_config = ConfigDict(extra="ignore")


class KeyValue(Message):
    key: str | None = None
    value: str | None = None


class RunMessage(Message):
    """Messages naming a run: the client sends `run_id` and often `run_uuid` too."""

    run_id: str | None = None
    run_uuid: str | None = None

    def required_run_id(self) -> str:
        run_id = self.run_id or self.run_uuid
        if not run_id:
            raise InvalidParameter(missing_value("run_id"))
        return parse_run_id(run_id)


class ExperimentMessage(Message):
    experiment_id: str | None = None


class CreateExperiment(Message):
    name: str | None = None
    artifact_location: str | None = None
    tags: list[KeyValue] = []


class GetExperimentByName(Message):
    experiment_name: str | None = None


class SearchExperiments(Message):
    max_results: Int64 | None = None
    page_token: str | None = None
    filter: str | None = None
    order_by: list[str] = []
    view_type: str | Int64 | None = None


class UpdateExperiment(ExperimentMessage):
    new_name: str | None = None


class SetExperimentTag(ExperimentMessage):
    key: str | None = None
    value: str | None = None


class DeleteExperimentTag(ExperimentMessage):
    key: str | None = None


class CreateRun(Message):
    experiment_id: str | None = None
    user_id: str | None = None
    run_name: str | None = None
    start_time: Int64 | None = None
    tags: list[KeyValue] = []


class UpdateRun(RunMessage):
    status: str | Int64 | None = None
    end_time: Int64 | None = None
    run_name: str | None = None


class LogParam(RunMessage):
    key: str | None = None
    value: str | None = None


class SetTag(RunMessage):
    key: str | None = None
    value: str | None = None


class DeleteTag(RunMessage):
    key: str | None = None


class MetricIn(Message):
    key: str | None = None
    value: MetricValueIn | None = None
    timestamp: Int64 | None = None
    step: Int64 | None = None
    # MLflow 3: the logged model and dataset the value was measured for.
    model_id: str | None = None
    dataset_name: str | None = None
    dataset_digest: str | None = None


class LogMetric(RunMessage):
    key: str | None = None
    value: MetricValueIn | None = None
    timestamp: Int64 | None = None
    step: Int64 | None = None
    model_id: str | None = None
    dataset_name: str | None = None
    dataset_digest: str | None = None


class LogBatch(RunMessage):
    metrics: list[MetricIn] = []
    params: list[KeyValue] = []
    tags: list[KeyValue] = []


class DatasetIn(Message):
    name: str | None = None
    digest: str | None = None
    source_type: str | None = None
    source: str | None = None
    schema_: str | None = Field(default=None, alias="schema")
    profile: str | None = None


class DatasetInputIn(Message):
    tags: list[KeyValue] = []
    dataset: DatasetIn | None = None


class ModelInputIn(Message):
    model_id: str | None = None


class LogInputs(RunMessage):
    datasets: list[DatasetInputIn] = []
    models: list[ModelInputIn] = []


class ModelOutput(Message):
    model_id: str | None = None
    step: Int64 | None = None


class LogOutputs(RunMessage):
    models: list[ModelOutput] | None = None


class SearchRuns(Message):
    experiment_ids: list[str] = []
    filter: str | None = None
    run_view_type: str | Int64 | None = None
    max_results: Int64 | None = None
    order_by: list[str] = []
    page_token: str | None = None


class GetMetricHistory(RunMessage):
    metric_key: str | None = None
    max_results: Int64 | None = None
    page_token: str | None = None


class GetMetricHistoryBulkInterval(Message):
    """Numbers as sent, checked by the route with MLflow's messages."""

    run_ids: list[RunId] = []
    metric_key: str | None = None
    start_step: str | None = None
    end_step: str | None = None
    max_results: str | None = None


class GetMetricHistoryBulk(Message):
    """The web UI's older bulk history: `run_id` repeated, one per run."""

    run_id: list[RunId] = []
    metric_key: str | None = None
    max_results: str | None = None


class ListArtifacts(RunMessage):
    path: str | None = None
    page_token: str | None = None


def enum_name(value: str | int | None, names: dict[int, str], path: str) -> str | None:
    """An enum given by name or number, as its name; None when absent."""
    if value is None:
        return None
    if isinstance(value, int) or value.isdigit():
        name = names.get(int(value))
    else:
        name = value if value in names.values() else None
    if name is None:
        raise InvalidParameter(invalid_value(path, value))
    return name


def lifecycle_of_view(value: str | int | None, path: str) -> str:
    return LIFECYCLE_BY_VIEW[enum_name(value, VIEW_TYPES, path) or "ACTIVE_ONLY"]


def required(value: str | None, path: str) -> str:
    """MLflow treats a missing and an empty string alike for required fields."""
    if value is None or value == "":
        raise InvalidParameter(missing_value(path))
    return value
