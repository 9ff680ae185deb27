"""Plan a run's metric points that MLflow 3 linked to a logged model (`Metric.model_id`).

MLflow keeps such a point twice: in the run's history and among the model's metrics. The
target takes it through the one door that stores it that way, MLflow's `log-batch` with
`model_id` (the run's series and the model's metrics, once each); the rest of the history
goes through v1. So the importer splits each history into linked points and the others,
and tells what the target already holds from the model's metrics and the run's counts.
"""

import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, replace
from typing import Any

from trackboard.importer.records import MetricSeries, ModelMetric

# key, step, timestamp, value as text: NaN equals NaN, as one stored point does.
Identity = tuple[str, int, int, str]


def identity(key: str, step: int, timestamp: int, value: float | str) -> Identity:
    number = float(value)
    return key, int(step), int(timestamp), "nan" if math.isnan(number) else number.hex()


@dataclass(frozen=True)
class LinkedPoint:
    """A source point linked to the target's model `model_id`."""

    model_id: str
    metric: ModelMetric

    @property
    def identity(self) -> Identity:
        m = self.metric
        return identity(m.key, m.step, m.timestamp, m.value)

    @property
    def link(self) -> tuple[str, str, str, Identity]:
        m = self.metric
        return self.model_id, m.dataset_name, m.dataset_digest, self.identity


def links_there(models: Iterable[dict[str, Any]]) -> dict[str, set[tuple[str, str, str, Identity]]]:
    """The model links the target holds, by run id, from its models' MLflow JSON."""
    found: dict[str, set[tuple[str, str, str, Identity]]] = {}
    for model in models:
        for metric in model.get("data", {}).get("metrics", []):
            point = identity(
                metric["key"], metric.get("step", 0), metric["timestamp"], metric["value"]
            )
            link = (
                metric["model_id"],
                metric.get("dataset_name", ""),
                metric.get("dataset_digest", ""),
                point,
            )
            found.setdefault(metric.get("run_id", ""), set()).add(link)
    return found


def _as_in_history(linked: Sequence[LinkedPoint], history: list[Identity]) -> list[LinkedPoint]:
    """The points as their run's `history` has them. MLflow's stores can disagree with
    themselves: the SQL store reads a NaN linked to a model back as 0 (3.17.2), the file
    store writes a point linked with a dataset into the run's history at step 0. A point
    not in the history is matched to a history point of the same timestamp and value (NaN
    for a 0) that no other linked point is, and takes its step and value."""
    exact = set(history)
    if all(point.identity in exact for point in linked):
        return list(linked)
    taken = {point.identity for point in linked}
    free: dict[int, list[Identity]] = {}
    for point_id in history:
        if point_id not in taken:
            free.setdefault(point_id[2], []).append(point_id)
    fixed = []
    for point in linked:
        m = point.metric
        candidates = free.get(m.timestamp, [])
        value = point.identity[3]
        match = next(
            (c for c in candidates if c[3] == value or (m.value == 0.0 and c[3] == "nan")), None
        )
        if point.identity not in exact and match is not None:
            candidates.remove(match)
            number = math.nan if match[3] == "nan" else m.value
            point = replace(point, metric=replace(m, step=match[1], value=number))
        fixed.append(point)
    return fixed


@dataclass
class KeyPlan:
    """What to send for one key of one run."""

    linked: list[LinkedPoint]  # through log-batch, with their model ids
    unlinked: MetricSeries  # the history without linked points, through v1
    unlinked_there: int  # how many of `unlinked` the target already has (a prefix)
    left_unlinked: int  # points the target has in the run but could not link


def plan_key(
    series: MetricSeries,
    linked: Sequence[LinkedPoint],
    there: set[tuple[str, str, str, Identity]],
    count_there: int,
) -> KeyPlan:
    """Split one key's history (`series`) given its linked points and what the target holds:
    `there` its model links for the run, `count_there` the points of the key in the run.

    A linked point is in the target's run exactly when its link is (both are written by one
    request), so the run's other points are `count_there` less the linked ones there. If
    the run already holds more points than that leaves room for (imported before links
    were carried over), the missing links are not sent: that would store the points twice.
    """
    if not linked:
        return KeyPlan([], series, min(count_there, len(series)), 0)
    history = [
        identity(series.key, step, timestamp, value)
        for step, timestamp, value in zip(
            series.steps, series.timestamps, series.values, strict=True
        )
    ]
    linked = _as_in_history(linked, history)
    linked_ids = {point.identity for point in linked}
    there_ids = {link[3] for link in there if link[3][0] == series.key}
    missing = [point for point in linked if point.link not in there]
    new_ids = {point.identity for point in missing} - there_ids
    keep = [index for index, point_id in enumerate(history) if point_id not in linked_ids]
    unlinked = MetricSeries(
        series.key,
        [series.steps[i] for i in keep],
        [series.timestamps[i] for i in keep],
        [series.values[i] for i in keep],
    )
    left = 0
    if count_there + len(new_ids) > len(series):
        left, missing = len(new_ids), []
    unlinked_there = min(max(count_there - len(there_ids & linked_ids), 0), len(unlinked))
    return KeyPlan(missing, unlinked, unlinked_there, left)
