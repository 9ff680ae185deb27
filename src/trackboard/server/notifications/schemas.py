"""The rules API's shapes: triggers, channels (secrets write-only), rules."""

from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field

from trackboard.server.json_types import IdField

MAX_TRIGGERS = 20
MAX_CHANNELS = 10
MAX_RECIPIENTS = 20


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class RunStatusTrigger(Strict):
    """A run reached this terminal status."""

    type: Literal["run.finished", "run.failed", "run.killed"]


class RunAlertTrigger(Strict):
    """The training script called `run.alert(...)` at this level or above."""

    type: Literal["run.alert"]
    min_level: Literal["info", "warn", "error"] = "info"


class MetricThresholdTrigger(Strict):
    """A logged point of `key` compares to `value` (reported once per run)."""

    type: Literal["metric.threshold"]
    key: str = Field(min_length=1, max_length=250)
    op: Literal[">", ">=", "<", "<="]
    value: float
    # Points before this step are ignored (e.g. a warm-up whose loss is expected high).
    after_step: int | None = Field(default=None, ge=0)


class MetricNanTrigger(Strict):
    """A NaN or infinite value appears in `key` (any key when omitted); once per run and key."""

    type: Literal["metric.nan"]
    key: str | None = Field(default=None, min_length=1, max_length=250)


class RunStalledTrigger(Strict):
    """A RUNNING run has stored no metric point for `minutes` (reported once per run)."""

    type: Literal["run.stalled"]
    minutes: float = Field(gt=0, le=7 * 24 * 60)


Trigger = Annotated[
    RunStatusTrigger
    | RunAlertTrigger
    | MetricThresholdTrigger
    | MetricNanTrigger
    | RunStalledTrigger,
    Field(discriminator="type"),
]


class WebhookChannel(Strict):
    type: Literal["webhook"]
    url: str = Field(min_length=1, max_length=2000)
    # Signs each body (`Trackboard-Signature`); write-only.
    secret: str | None = Field(default=None, min_length=1, max_length=500)


class SlackChannel(Strict):
    type: Literal["slack"]
    # An incoming-webhook URL is itself the credential: write-only.
    url: str = Field(min_length=1, max_length=2000)


class EmailChannel(Strict):
    type: Literal["email"]
    to: list[Annotated[str, Field(min_length=3, max_length=320)]] = Field(
        min_length=1, max_length=MAX_RECIPIENTS
    )


Channel = Annotated[WebhookChannel | SlackChannel | EmailChannel, Field(discriminator="type")]


class WebhookChannelRead(BaseModel):
    type: Literal["webhook"]
    url: str
    has_secret: bool


class SlackChannelRead(BaseModel):
    """The URL is never returned; its host says which workspace service it goes to."""

    type: Literal["slack"]
    host: str


class EmailChannelRead(BaseModel):
    type: Literal["email"]
    to: list[str]


ChannelRead = Annotated[
    WebhookChannelRead | SlackChannelRead | EmailChannelRead, Field(discriminator="type")
]


class RuleCreate(Strict):
    name: str = Field(min_length=1, max_length=200)
    # The project the rule belongs to when the caller is in several (else theirs).
    project_id: IdField | None = None
    # Omitted: every experiment of the rule's project (with auth off: every experiment).
    experiment_ids: list[IdField] | None = Field(default=None, max_length=1000)
    # Only runs matching this filter (the search language) notify.
    run_filter: str | None = Field(default=None, max_length=10_000)
    triggers: list[Trigger] = Field(min_length=1, max_length=MAX_TRIGGERS)
    channels: list[Channel] = Field(min_length=1, max_length=MAX_CHANNELS)
    enabled: bool = True


class RuleUpdate(Strict):
    """Fields to change; channels are replaced whole (secrets given again)."""

    name: str | None = Field(default=None, min_length=1, max_length=200)
    experiment_ids: list[IdField] | None = Field(default=None, max_length=1000)
    run_filter: str | None = Field(default=None, max_length=10_000)
    triggers: list[Trigger] | None = Field(default=None, min_length=1, max_length=MAX_TRIGGERS)
    channels: list[Channel] | None = Field(default=None, min_length=1, max_length=MAX_CHANNELS)
    enabled: bool | None = None


class RuleRead(BaseModel):
    id: int
    project_id: int | None
    name: str
    enabled: bool
    experiment_ids: list[int] | None
    run_filter: str | None
    triggers: list[Trigger]
    channels: list[ChannelRead]
    created_by: str
    created_at: int
    updated_at: int


class RuleList(BaseModel):
    rules: list[RuleRead]


class ChannelTestResult(BaseModel):
    channel_index: int
    type: str
    ok: bool
    error: str | None = None


class RuleTestResult(BaseModel):
    results: list[ChannelTestResult]


class DeliveryRead(BaseModel):
    id: int
    rule_id: int
    channel_index: int
    event_id: str
    kind: str
    status: Literal["pending", "sent", "failed"]
    attempts: int
    created_at: int
    next_attempt_at: int
    sent_at: int | None
    last_error: str | None


class DeliveryList(BaseModel):
    deliveries: list[DeliveryRead]
