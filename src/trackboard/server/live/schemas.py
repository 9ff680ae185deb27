"""Messages a browser sends on /api/v1/ws."""

from pydantic import BaseModel, ConfigDict, Field

from trackboard.server.json_types import IdField


class RunTopic(BaseModel):
    model_config = ConfigDict(extra="forbid")
    run_id: str = Field(pattern="^[0-9a-f]{32}$")


class ExperimentTopic(BaseModel):
    model_config = ConfigDict(extra="forbid")
    experiment_id: IdField


class ClientMessage(BaseModel):
    """`{"subscribe": {...}}`, `{"unsubscribe": {...}}` or `{"ping": n}`."""

    model_config = ConfigDict(extra="forbid")
    subscribe: RunTopic | ExperimentTopic | None = None
    unsubscribe: RunTopic | ExperimentTopic | None = None
    ping: int | None = None
