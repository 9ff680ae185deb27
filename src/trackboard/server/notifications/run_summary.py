"""What the channels written for people (Slack, e-mail) say about a notification: the run,
its key metrics and what fired, as plain strings each channel then escapes its own way."""

import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from trackboard.server.notifications.notification import Notification

MAX_METRICS = 8
_MAX_VALUE_CHARS = 120


def format_value(value: object) -> str:
    """A compact rendering: floats to 4 significant digits, NaN and infinities spelled out."""
    if value is None:
        return "-"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        if math.isnan(value):
            return "NaN"
        if math.isinf(value):
            return "inf" if value > 0 else "-inf"
        return f"{value:.4g}"
    text = str(value)
    return text if len(text) <= _MAX_VALUE_CHARS else text[: _MAX_VALUE_CHARS - 1] + "…"


def describe_trigger(details: Mapping[str, Any]) -> str | None:
    """One line for the trigger's facts, e.g. `loss = 7.1 > 5 at step 120`; None if none."""
    key = details.get("key")
    if key is not None and "value" in details:
        text = f"{key} = {format_value(details['value'])}"
        if "op" in details and "threshold" in details:
            text += f" {details['op']} {format_value(details['threshold'])}"
        if details.get("step") is not None:
            text += f" at step {format_value(details['step'])}"
        return text
    facts = [
        f"{name}: {format_value(value)}"
        for name, value in details.items()
        if not isinstance(value, Mapping | list | tuple)
    ]
    return ", ".join(facts) or None


@dataclass(frozen=True)
class RunSummary:
    name: str | None
    status: str | None
    # (key, latest value), the trigger's metric first, then by key; at most MAX_METRICS.
    metrics: list[tuple[str, str]]
    trigger: str | None


def summarize(notification: Notification) -> RunSummary:
    """The run-related facts of `notification`, formatted but not yet escaped."""
    run = notification.run or {}
    name = run.get("name") or notification.run_id
    status = run.get("status")
    metrics = run.get("metrics")
    latest: list[tuple[str, str]] = []
    if isinstance(metrics, Mapping):
        first = notification.details.get("key")
        keys = sorted(metrics, key=lambda key: (key != first, str(key)))[:MAX_METRICS]
        for key in keys:
            point = metrics[key]
            value = point.get("value") if isinstance(point, Mapping) else point
            latest.append((str(key), format_value(value)))
    return RunSummary(
        name=None if name is None else format_value(name),
        status=None if status is None else str(status),
        metrics=latest,
        trigger=describe_trigger(notification.details),
    )
