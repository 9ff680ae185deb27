"""Which triggers of a rule an event fires: pure functions of the rule and the event.

Run status and alert triggers fire once per event. Metric triggers read the per-key
statistics of a `metrics.stored` event (`stats`: extremes with their steps, the count of
NaN/inf values, and the latest point) and fire once per run: a loss above its threshold
for the rest of training is one notification, not one per write. `run.stalled` is not an
event: the notifier's periodic check finds stalled runs (`stalled_match`).
"""

import hashlib
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from trackboard.server.events import Event
from trackboard.server.notifications.notification import Level
from trackboard.server.notifications.schemas import (
    MetricNanTrigger,
    MetricThresholdTrigger,
    RunAlertTrigger,
    RunStalledTrigger,
    RunStatusTrigger,
    Trigger,
)

LEVELS: dict[str, int] = {"info": 0, "warn": 1, "error": 2}
STATUS_LEVELS: dict[str, Level] = {
    "run.finished": "info",
    "run.failed": "error",
    "run.killed": "warn",
}
STATUS_WORDS = {"run.finished": "finished", "run.failed": "failed", "run.killed": "was killed"}
COMPARE = {
    ">": lambda a, b: a > b,
    ">=": lambda a, b: a >= b,
    "<": lambda a, b: a < b,
    "<=": lambda a, b: a <= b,
}


@dataclass(frozen=True)
class Match:
    """A trigger that fired: what to say, and the key that makes it happen once."""

    kind: str
    dedupe_key: str
    level: Level
    title: str
    text: str
    details: Mapping[str, Any] = field(default_factory=dict)


def run_label(event: Event) -> str:
    run = event.data.get("run")
    name = run.get("name") if isinstance(run, Mapping) else None
    return f"Run {name}" if name else f"Run {event.run_id}"


def short_key(key: str) -> str:
    """Keys may be 250 characters; the dedupe key stays short and exact."""
    return hashlib.sha256(key.encode()).hexdigest()[:24]


def status_match(trigger: RunStatusTrigger, event: Event) -> Match | None:
    if event.type != trigger.type:
        return None
    label = run_label(event)
    return Match(
        kind=trigger.type,
        dedupe_key=event.id,
        level=STATUS_LEVELS[trigger.type],
        title=f"{label} {STATUS_WORDS[trigger.type]}",
        text=f"{label} {STATUS_WORDS[trigger.type]} (status {event.data.get('new_status')}).",
        details={"status": event.data.get("new_status")},
    )


def alert_match(trigger: RunAlertTrigger, event: Event) -> Match | None:
    if event.type != "run.alert":
        return None
    level = str(event.data.get("level", "info"))
    if LEVELS.get(level, 0) < LEVELS[trigger.min_level]:
        return None
    title = str(event.data.get("title", ""))
    alert_id = event.data.get("alert_id")
    return Match(
        kind="run.alert",
        # A client's retry is another event of the same alert.
        dedupe_key=f"alert:{event.run_id}:{alert_id}" if alert_id else event.id,
        level=level if level in LEVELS else "info",  # type: ignore[arg-type]
        title=f"{run_label(event)}: {title}",
        text=str(event.data.get("text", "")),
        details={"title": title, "alert_level": level},
    )


def crossing(trigger: MetricThresholdTrigger, stats: Mapping[str, Any]) -> tuple[float, int] | None:
    """The (value, step) that crosses the threshold in one write's statistics, if any.

    The write's extreme in the trigger's direction is checked; when it lies before
    `after_step`, the write's latest point is checked instead (if at or after it)."""
    high = trigger.op in (">", ">=")
    value, step = (stats["max"], stats["max_step"]) if high else (stats["min"], stats["min_step"])
    candidates: list[tuple[float | None, int | None]] = [(value, step)]
    if trigger.after_step is not None and (step is None or step < trigger.after_step):
        latest = stats["latest"]
        candidates = [(latest["value"], latest["step"])]
    for candidate, at in candidates:
        if not isinstance(candidate, (int, float)) or at is None:
            continue
        if trigger.after_step is not None and at < trigger.after_step:
            continue
        if COMPARE[trigger.op](float(candidate), trigger.value):
            return float(candidate), int(at)
    return None


def threshold_match(index: int, trigger: MetricThresholdTrigger, event: Event) -> Match | None:
    if event.type != "metrics.stored":
        return None
    stats = event.data.get("stats", {}).get(trigger.key)
    if stats is None:
        return None
    hit = crossing(trigger, stats)
    if hit is None:
        return None
    value, step = hit
    condition = f"{trigger.key} = {value:g} {trigger.op} {trigger.value:g}"
    return Match(
        kind="metric.threshold",
        dedupe_key=f"threshold:{index}:{event.run_id}",
        level="warn",
        title=f"{run_label(event)}: {condition}",
        text=f"{run_label(event)} logged {condition} at step {step}.",
        details={
            "key": trigger.key,
            "op": trigger.op,
            "threshold": trigger.value,
            "value": value,
            "step": step,
        },
    )


def nan_matches(index: int, trigger: MetricNanTrigger, event: Event) -> list[Match]:
    if event.type != "metrics.stored":
        return []
    all_stats: Mapping[str, Any] = event.data.get("stats", {})
    keys = [trigger.key] if trigger.key is not None else sorted(all_stats)
    found: list[Match] = []
    for key in keys:
        stats = all_stats.get(key)
        if not stats or not stats.get("nonfinite"):
            continue
        found.append(
            Match(
                kind="metric.nan",
                dedupe_key=f"nan:{index}:{event.run_id}:{short_key(key)}",
                level="error",
                title=f"{run_label(event)}: {key} is not finite",
                text=(
                    f"{run_label(event)} logged {stats['nonfinite']} NaN or infinite "
                    f"value(s) of {key} (first at step {stats['nonfinite_step']})."
                ),
                details={"key": key, "count": stats["nonfinite"], "step": stats["nonfinite_step"]},
            )
        )
    return found


def event_matches(triggers: Sequence[Trigger], event: Event) -> list[Match]:
    """Every trigger of a rule that `event` fires, in trigger order."""
    found: list[Match] = []
    for index, trigger in enumerate(triggers):
        if isinstance(trigger, RunStatusTrigger):
            match = status_match(trigger, event)
        elif isinstance(trigger, RunAlertTrigger):
            match = alert_match(trigger, event)
        elif isinstance(trigger, MetricThresholdTrigger):
            match = threshold_match(index, trigger, event)
        elif isinstance(trigger, MetricNanTrigger):
            found.extend(nan_matches(index, trigger, event))
            continue
        else:
            continue  # run.stalled: found by the periodic check
        if match is not None:
            found.append(match)
    return found


def stalled_match(
    index: int, trigger: RunStalledTrigger, run: Mapping[str, Any], idle_ms: int
) -> Match:
    minutes = idle_ms / 60_000
    label = f"Run {run.get('name') or run.get('id')}"
    return Match(
        kind="run.stalled",
        dedupe_key=f"stalled:{index}:{run.get('id')}",
        level="warn",
        title=f"{label} stalled",
        text=(
            f"{label} is RUNNING but has stored no metric point for {math.floor(minutes)} "
            f"minutes (the rule allows {trigger.minutes:g})."
        ),
        details={"idle_minutes": round(minutes, 1), "limit_minutes": trigger.minutes},
    )
