"""The retention policy and its one parser: durations (`30d`, MLflow's `#d#h#m#s`), the
server default (Settings) and per-experiment overrides (`trackboard.retention.*` tags).

Experiment tags:
    trackboard.retention.deleted_days      purge runs deleted more than N days ago
    trackboard.retention.downsample_days   thin series whose newest point is older than N days
    trackboard.retention.max_points        the points a thinned series keeps
A tag overrides the server default for that experiment; the value `off` turns a rule off
for it even when the server default is on.
"""

import math
import re
from collections.abc import Mapping
from dataclasses import dataclass, replace

from trackboard.server.errors import InvalidParameter

TAG_PREFIX = "trackboard.retention."
DELETED_DAYS_TAG = f"{TAG_PREFIX}deleted_days"
DOWNSAMPLE_DAYS_TAG = f"{TAG_PREFIX}downsample_days"
MAX_POINTS_TAG = f"{TAG_PREFIX}max_points"
POLICY_TAGS = (DELETED_DAYS_TAG, DOWNSAMPLE_DAYS_TAG, MAX_POINTS_TAG)
OFF = "off"

DAY_MS = 86_400_000
# Below this a thinned series would no longer show its shape; downsample keeps 5 points
# (first, last, min, max, first NaN) per bucket.
MIN_MAX_POINTS = 50
DEFAULT_MAX_POINTS = 10_000

_UNITS_MS = {"d": DAY_MS, "h": 3_600_000, "m": 60_000, "s": 1_000}
_DURATION = re.compile(r"(?:(\d+(?:\.\d*)?|\.\d+)([dhms]))")


def parse_duration_ms(text: str) -> int:
    """`1d2h3m4s`, `1.5d`, `30d` (MLflow gc's `--older-than` syntax) in milliseconds."""
    spec = text.strip().lower()
    parts = _DURATION.findall(spec)
    if not spec or "".join(number + unit for number, unit in parts) != spec:
        raise InvalidParameter(
            f"{text!r} is not a duration: use #d#h#m#s, e.g. 30d, 12h or 1d2h3m4s"
        )
    units = [unit for _, unit in parts]
    if len(set(units)) != len(units):
        raise InvalidParameter(f"{text!r} names a unit twice")
    return round(sum(float(number) * _UNITS_MS[unit] for number, unit in parts))


def days_ms(days: float) -> int:
    if not math.isfinite(days) or days < 0:
        raise InvalidParameter(f"a retention of {days} days is not a number of days >= 0")
    return round(days * DAY_MS)


def check_max_points(points: int) -> int:
    if points < MIN_MAX_POINTS:
        raise InvalidParameter(f"max points must be at least {MIN_MAX_POINTS}, not {points}")
    return points


@dataclass(frozen=True)
class RetentionPolicy:
    """Ages in milliseconds; None: the rule is off."""

    deleted_after_ms: int | None = None
    downsample_after_ms: int | None = None
    max_points: int = DEFAULT_MAX_POINTS

    @classmethod
    def of_days(
        cls,
        deleted_days: float | None,
        downsample_days: float | None,
        max_points: int = DEFAULT_MAX_POINTS,
    ) -> "RetentionPolicy":
        return cls(
            None if deleted_days is None else days_ms(deleted_days),
            None if downsample_days is None else days_ms(downsample_days),
            check_max_points(max_points),
        )

    def overridden(self, tags: Mapping[str, str]) -> "RetentionPolicy":
        """This policy with an experiment's `trackboard.retention.*` tags applied."""
        policy = self
        if DELETED_DAYS_TAG in tags:
            policy = replace(policy, deleted_after_ms=_days_tag(tags, DELETED_DAYS_TAG))
        if DOWNSAMPLE_DAYS_TAG in tags:
            policy = replace(policy, downsample_after_ms=_days_tag(tags, DOWNSAMPLE_DAYS_TAG))
        if MAX_POINTS_TAG in tags:
            policy = replace(policy, max_points=_points_tag(tags[MAX_POINTS_TAG]))
        return policy


def _days_tag(tags: Mapping[str, str], key: str) -> int | None:
    text = tags[key].strip().lower()
    if text == OFF:
        return None
    try:
        days = float(text)
    except ValueError:
        raise InvalidParameter(
            f"tag {key} must be a number of days or 'off', not {text!r}"
        ) from None
    return days_ms(days)


def _points_tag(text: str) -> int:
    try:
        points = int(text.strip())
    except ValueError:
        raise InvalidParameter(
            f"tag {MAX_POINTS_TAG} must be a whole number, not {text!r}"
        ) from None
    return check_max_points(points)


def check_policy_tags(tags: Mapping[str, str]) -> None:
    """Refuse retention tags that do not parse (InvalidParameter), before they are stored."""
    unknown = [k for k in tags if k.startswith(TAG_PREFIX) and k not in POLICY_TAGS]
    if unknown:
        raise InvalidParameter(
            f"unknown retention tag {unknown[0]!r}; known: {', '.join(POLICY_TAGS)}"
        )
    RetentionPolicy().overridden(tags)
