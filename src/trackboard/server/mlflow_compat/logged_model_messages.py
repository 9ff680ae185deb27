"""MLflow 3's logged-model request messages (field names as in `service.proto`)."""

from trackboard.server.json_types import Millis
from trackboard.server.mlflow_compat.schemas import Int64, KeyValue, Message

# LoggedModelStatus by number, as protobuf's JSON parsing also takes them.
MODEL_STATUSES = {
    1: "LOGGED_MODEL_PENDING",
    2: "LOGGED_MODEL_READY",
    3: "LOGGED_MODEL_UPLOAD_FAILED",
}


class CreateLoggedModel(Message):
    experiment_id: str | None = None
    name: str | None = None
    model_type: str | None = None
    source_run_id: str | None = None
    params: list[KeyValue] = []
    tags: list[KeyValue] = []
    # Not MLflow's: what `trackboard import mlflow` keeps of a source model.
    model_id: str | None = None
    creation_timestamp_ms: Millis | None = None
    last_updated_timestamp_ms: Millis | None = None


class GetLoggedModel(Message):
    allow_deleted: str | None = None


class FinalizeLoggedModel(Message):
    model_id: str | None = None
    status: str | Int64 | None = None
    # Not MLflow's: an imported model keeps its source's last update time.
    last_updated_timestamp_ms: Millis | None = None


class LogLoggedModelParams(Message):
    model_id: str | None = None
    params: list[KeyValue] = []


class SetLoggedModelTags(Message):
    tags: list[KeyValue] = []


class DatasetFilter(Message):
    dataset_name: str | None = None
    dataset_digest: str | None = None


class OrderByField(Message):
    field_name: str | None = None
    ascending: bool | None = None
    dataset_name: str | None = None
    dataset_digest: str | None = None


class SearchLoggedModels(Message):
    experiment_ids: list[str] = []
    filter: str | None = None
    datasets: list[DatasetFilter] = []
    max_results: Int64 | None = None
    order_by: list[OrderByField] = []
    page_token: str | None = None


class ListLoggedModelArtifacts(Message):
    artifact_directory_path: str | None = None
    page_token: str | None = None
