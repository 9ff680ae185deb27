"""What `Run.log_histogram` and `Run.log_table` store: histogram bins and counts from
values (or given counts), and a table's columns and rows from a DataFrame or plain rows, as
JSON (and CSV) the dashboard reads. numpy is used only for values that are numpy arrays."""

from __future__ import annotations

import contextlib
import csv
import io
import json
import math
from collections.abc import Mapping, Sequence
from typing import Any

DEFAULT_BINS = 64
MAX_BINS = 1024


def _finite(values: Sequence[Any]) -> list[float]:
    numbers = [float(value) for value in values]
    return [value for value in numbers if math.isfinite(value)]


def _bin_values(values: list[float], bins: int) -> tuple[list[float], list[float]]:
    if not values:
        return [0.0, 1.0], [0.0]
    low, high = min(values), max(values)
    if low == high:
        return [low - 0.5, high + 0.5], [float(len(values))]
    width = (high - low) / bins
    counts = [0.0] * bins
    for value in values:
        counts[min(int((value - low) / width), bins - 1)] += 1
    return [low + width * index for index in range(bins)] + [high], counts


def _is_counts(value: Any) -> bool:
    """numpy.histogram's answer, (counts, edges): two sequences, one edge more than counts."""
    if not isinstance(value, tuple) or len(value) != 2:
        return False
    counts, edges = value
    return (
        hasattr(counts, "__len__") and hasattr(edges, "__len__") and (len(edges) == len(counts) + 1)
    )


def histogram(values_or_counts: Any, bins: int = DEFAULT_BINS) -> dict[str, list[float]]:
    """{"bins": edges, "counts": counts} of raw values (non-finite ones left out), or of
    counts already made: `{"counts": [...], "bins": [...]}` or numpy.histogram's tuple."""
    if not 1 <= bins <= MAX_BINS:
        raise ValueError(f"bins must be 1 to {MAX_BINS}, got {bins}")
    if isinstance(values_or_counts, Mapping):
        counts, edges = values_or_counts["counts"], values_or_counts["bins"]
    elif _is_counts(values_or_counts):
        counts, edges = values_or_counts
    else:
        if hasattr(values_or_counts, "detach"):  # a torch tensor
            values_or_counts = values_or_counts.detach().cpu().numpy()
        if hasattr(values_or_counts, "__array__"):
            import numpy as np  # only for array values

            array = np.asarray(values_or_counts, dtype=np.float64).ravel()
            array = array[np.isfinite(array)]
            if array.size:
                counts_array, edges_array = np.histogram(array, bins=bins)
                return {"bins": edges_array.tolist(), "counts": counts_array.astype(float).tolist()}
            values_or_counts = []
        edges, counts = _bin_values(_finite(list(values_or_counts)), bins)
    edges, counts = [float(e) for e in edges], [float(c) for c in counts]
    if len(edges) != len(counts) + 1:
        raise ValueError(
            f"a histogram has one edge more than counts: {len(edges)} and {len(counts)}"
        )
    return {"bins": edges, "counts": counts}


def _cell(value: Any) -> Any:
    """A JSON value for a table cell: numbers (NaN and infinities as null), text, booleans."""
    if hasattr(value, "item") and not isinstance(value, (str, bytes)):
        with contextlib.suppress(TypeError, ValueError):
            value = value.item()  # a numpy scalar
    if value is None or isinstance(value, (bool, int, str)):
        return value
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    return str(value)


def table(data: Any, columns: Sequence[str] | None = None) -> tuple[list[str], list[list[Any]]]:
    """(columns, rows) of a pandas DataFrame, a list of dicts, or a list of rows (with
    `columns`, else "0", "1", ...)."""
    if hasattr(data, "to_dict") and hasattr(data, "columns"):
        split = data.to_dict(orient="split")
        names = [str(name) for name in split["columns"]]
        rows: list[Sequence[Any]] = split["data"]
    else:
        rows = list(data)
        mappings = [row for row in rows if isinstance(row, Mapping)]
        if rows and len(mappings) == len(rows):
            names = list(columns or dict.fromkeys(str(k) for row in mappings for k in row))
            rows = [[row.get(name) for name in names] for row in mappings]
        else:
            width = max((len(row) for row in rows), default=0)
            names = [str(name) for name in columns] if columns else [str(i) for i in range(width)]
    return names, [[_cell(value) for value in row] for row in rows]


def table_files(names: list[str], rows: list[list[Any]]) -> tuple[bytes, bytes]:
    """The table as JSON ({"columns", "rows"}) and as CSV with a header row."""
    as_json = json.dumps({"columns": names, "rows": rows}, allow_nan=False).encode()
    text = io.StringIO()
    writer = csv.writer(text)
    writer.writerow(names)
    writer.writerows(["" if value is None else value for value in row] for row in rows)
    return as_json, text.getvalue().encode()
