"""Every run a search matches, as CSV or JSON lines, read and written a chunk at a time.

A file holds the whole result, not a page, so it is produced while it is sent: runs are
read `CHUNK` at a time with the search's own paging, turned into text and let go, and the
memory used does not grow with the number of runs.
"""

import csv
import io
import math
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass

import orjson
from sqlalchemy.ext.asyncio import AsyncSession

from trackboard.server.errors import InvalidParameter
from trackboard.server.models import RunFields
from trackboard.server.runs import service as runs
from trackboard.server.runs.schemas import RunView
from trackboard.server.search import export_repository, service
from trackboard.server.search.filter_parser import parse_filter, parse_order

ATTRIBUTES = ("id", "name", "experiment_id", "status", "start_time", "end_time", "user")
PREFIXES = ("params", "tags", "metrics")
CHUNK = 500

Cell = str | int | float | None


@dataclass(frozen=True)
class ExportQuery:
    experiment_ids: Sequence[int]
    filter_text: str | None
    order_by: Sequence[str]
    lifecycle: str = "active"

    def check(self) -> None:
        """Refuse a bad filter or sort before the first byte is sent: once the response
        has started, its status can no longer become a 400."""
        parse_filter(self.filter_text)
        parse_order(self.order_by)


def check_columns(columns: Sequence[str]) -> list[str]:
    """The requested columns, each an attribute or `<prefix>.<key>`, none twice."""
    for column in columns:
        prefix, dot, key = column.partition(".")
        if column not in ATTRIBUTES and not (prefix in PREFIXES and dot and key):
            raise InvalidParameter(
                f"unknown column {column!r}: an attribute ({', '.join(ATTRIBUTES)}) "
                "or params.<key>, tags.<key>, metrics.<key>"
            )
    if len(set(columns)) != len(columns):
        raise InvalidParameter("a column is named more than once")
    return list(columns)


async def _matching_runs(
    session: AsyncSession, query: ExportQuery, chunk: int
) -> AsyncIterator[Sequence[RunFields]]:
    offset: int | None = 0
    while offset is not None:
        page = await service.search_runs(
            session,
            experiment_ids=query.experiment_ids,
            filter_text=query.filter_text,
            order_by=query.order_by,
            lifecycle=query.lifecycle,
            offset=offset,
            limit=chunk,
        )
        if page.runs:
            yield page.runs
        offset = page.next_offset


async def matching_columns(
    session: AsyncSession, query: ExportQuery, *, chunk: int = CHUNK
) -> list[str]:
    """Every attribute, then each key any matching run has, sorted within its prefix.

    A CSV header comes first, so the union of keys is known before any row is written: a
    first pass reads only the matching run ids, a chunk at a time, and the distinct keys
    of each chunk, keeping nothing but the set of keys (rows would grow with the runs)."""
    keys: dict[str, set[str]] = {prefix: set() for prefix in PREFIXES}
    async for page in _matching_runs(session, query, chunk):
        found = await export_repository.select_keys(session, [run.id for run in page])
        for prefix in PREFIXES:
            keys[prefix] |= found[prefix]
    return [
        *ATTRIBUTES,
        *(f"{prefix}.{key}" for prefix in PREFIXES for key in sorted(keys[prefix])),
    ]


def _metric_value(value: float | str) -> float:
    # Non-finite values arrive as words ("NaN", "Infinity"); float() reads them back, and
    # CSV then writes nan/inf, which pandas reads as floats.
    return float(value)


def _cell(run: RunView, column: str) -> Cell:
    if column in ATTRIBUTES:
        cell: Cell = run[column]  # type: ignore[literal-required]
        return cell
    prefix, _, key = column.partition(".")
    if prefix == "metrics":
        summary = run["metrics"].get(key)
        return None if summary is None else _metric_value(summary["value"])
    values = run["params"] if prefix == "params" else run["tags"]
    return values.get(key)


async def _described_chunks(
    session: AsyncSession, query: ExportQuery, chunk: int
) -> AsyncIterator[list[RunView]]:
    async for page in _matching_runs(session, query, chunk):
        yield await runs.describe_runs(session, page)


async def export_csv(
    session: AsyncSession, query: ExportQuery, columns: Sequence[str], *, chunk: int = CHUNK
) -> AsyncIterator[bytes]:
    """A header row of `columns`, then a row per run; a missing value is an empty cell."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(columns)
    yield buffer.getvalue().encode()
    async for described in _described_chunks(session, query, chunk):
        buffer.seek(0)
        buffer.truncate()
        for run in described:
            writer.writerow(["" if (cell := _cell(run, c)) is None else cell for c in columns])
        yield buffer.getvalue().encode()


def _json_cell(cell: Cell) -> Cell:
    # JSON has no NaN or infinity: they are written as MLflow's words.
    if isinstance(cell, float) and not math.isfinite(cell):
        return "NaN" if math.isnan(cell) else ("Infinity" if cell > 0 else "-Infinity")
    return cell


async def export_jsonl(
    session: AsyncSession,
    query: ExportQuery,
    columns: Sequence[str] | None,
    *,
    chunk: int = CHUNK,
) -> AsyncIterator[bytes]:
    """A flat JSON object per line and run, keyed like the CSV columns; without `columns`,
    each run has its own keys (no first pass is needed)."""
    async for described in _described_chunks(session, query, chunk):
        lines = []
        for run in described:
            names = columns if columns is not None else _own_columns(run)
            lines.append(orjson.dumps({c: _json_cell(_cell(run, c)) for c in names}))
        yield b"\n".join(lines) + b"\n"


def _own_columns(run: RunView) -> list[str]:
    return [
        *ATTRIBUTES,
        *(f"{prefix}.{key}" for prefix in PREFIXES for key in sorted(run[prefix])),  # type: ignore[literal-required]
    ]
