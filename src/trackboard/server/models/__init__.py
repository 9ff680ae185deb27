"""ORM models: the one schema shared by SQLite and PostgreSQL."""

from trackboard.server.models.accounts import (
    ApiKey,
    LoginSessionRecord,
    Project,
    ProjectMember,
    User,
)
from trackboard.server.models.base import Base
from trackboard.server.models.events import EventOutbox
from trackboard.server.models.experiments import Experiment, ExperimentTag
from trackboard.server.models.logged_models import (
    LoggedModel,
    LoggedModelMetric,
    LoggedModelParam,
    LoggedModelTag,
    RunModelLink,
)
from trackboard.server.models.metrics import AppliedBatch, MetricChunk, MetricSummary
from trackboard.server.models.notifications import NotificationDelivery, NotificationRule
from trackboard.server.models.run_inputs import RunDatasetInput
from trackboard.server.models.runs import Run, RunFields, RunParam, RunTag
from trackboard.server.models.saved_views import SavedView

__all__ = [
    "ApiKey",
    "AppliedBatch",
    "Base",
    "EventOutbox",
    "Experiment",
    "ExperimentTag",
    "LoggedModel",
    "LoggedModelMetric",
    "LoggedModelParam",
    "LoggedModelTag",
    "LoginSessionRecord",
    "MetricChunk",
    "MetricSummary",
    "NotificationDelivery",
    "NotificationRule",
    "Project",
    "ProjectMember",
    "Run",
    "RunDatasetInput",
    "RunFields",
    "RunModelLink",
    "RunParam",
    "RunTag",
    "SavedView",
    "User",
]
