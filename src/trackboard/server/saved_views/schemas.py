"""The saved-views API's shapes, and the view state: the runs page's URL state as a
validated JSON document with a size bound (not a free blob)."""

from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from trackboard.server.limits import MAX_NAME_LENGTH

MAX_VIEW_NAME_LENGTH = 200
# A generous bound for hundreds of chosen columns, far below what a page URL can carry.
MAX_STATE_BYTES = 32 * 1024
MAX_COLUMNS = 1000
MAX_PANELS = 200
MAX_PANEL_KEYS = 20

# What the dashboard calls a column id: `<kind>.<key>`, the key as logged (dots allowed).
ColumnId = Annotated[
    str,
    Field(
        max_length=len("attributes.") + MAX_NAME_LENGTH,
        pattern=r"^(attributes|metrics|params|tags)\.[^\x00-\x1f]+$",
    ),
]
# A column of the table, which may also be the computed `duration` (pinned columns).
TableColumn = Annotated[
    str,
    Field(
        max_length=len("attributes.") + MAX_NAME_LENGTH,
        pattern=r"^(duration|(attributes|metrics|params|tags)\.[^\x00-\x1f]+)$",
    ),
]
# A metric key of a chart panel, as logged.
PanelKey = Annotated[
    str, Field(min_length=1, max_length=MAX_NAME_LENGTH, pattern=r"^[^\x00-\x1f]+$")
]
# One chart: the keys drawn together (the dashboard's `panels=` URL state).
Panel = Annotated[list[PanelKey], Field(min_length=1, max_length=MAX_PANEL_KEYS)]

# The built-in columns of the runs table that may be hidden (the run name always shows).
HideableColumn = Literal[
    "attributes.status", "attributes.start_time", "duration", "attributes.user"
]
# "step", "time", "relative", or "metric:<key>" (another logged metric as the x axis).
XAxis = Annotated[
    str,
    Field(
        max_length=len("metric:") + MAX_NAME_LENGTH,
        pattern=r"^(step|time|relative|metric:[^\x00-\x1f]+)$",
    ),
]


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class SortState(Strict):
    column: ColumnId
    desc: bool = False


class ChartState(Strict):
    """How the charts of the runs (in compare) are drawn."""

    x: XAxis = "step"
    smoothing: float = Field(default=0.0, ge=0.0, le=0.99)
    log: bool = False
    band: Literal["minmax", "std"] = "minmax"


class ViewState(Strict):
    """The state of an experiment's runs page, as the dashboard keeps it in the URL."""

    version: Literal[1] = 1
    filter: str = Field(default="", max_length=10_000)
    sort: SortState | None = None
    # None: not chosen (the page picks columns from the data); [] chooses none.
    columns: list[ColumnId] | None = Field(default=None, max_length=MAX_COLUMNS)
    hidden: list[HideableColumn] = Field(default_factory=list, max_length=4)
    pinned: list[TableColumn] = Field(default_factory=list, max_length=MAX_COLUMNS)
    # The column runs are grouped by in their charts ("params.lr"), or None.
    group: ColumnId | None = None
    chart: ChartState = Field(default_factory=ChartState)
    # The chart panels Compare opens with; None: one chart per metric key, [] none at all.
    panels: list[Panel] | None = Field(default=None, max_length=MAX_PANELS)

    @model_validator(mode="after")
    def within_size_bound(self) -> "ViewState":
        size = len(self.model_dump_json().encode())
        if size > MAX_STATE_BYTES:
            raise ValueError(f"the view state is {size} bytes; at most {MAX_STATE_BYTES} are kept")
        return self


ViewName = Annotated[str, Field(min_length=1, max_length=MAX_VIEW_NAME_LENGTH)]


class SavedViewCreate(Strict):
    name: ViewName
    state: ViewState


class SavedViewUpdate(Strict):
    """A rename, a new state, or both; what is left out stays."""

    name: ViewName | None = None
    state: ViewState | None = None


class SavedViewRead(BaseModel):
    id: int
    experiment_id: int
    name: str
    state: ViewState
    created_by: str
    created_at: int
    updated_by: str
    updated_at: int


class SavedViewList(BaseModel):
    views: list[SavedViewRead]
