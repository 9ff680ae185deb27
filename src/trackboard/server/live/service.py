"""Live updates: committed domain events turned into browser messages, by run or experiment.

`LiveService.on_events` subscribes to the event bus (`backends.event_bus`), so it runs in
the writing process right after each commit, and publishes on the broadcast (exchange
`trackboard.live` in the distributed mode), which fans out to every instance's sockets.
Messages: `run_created` and `run_updated` with the run's document (one per run and
transaction, however many of its events the transaction recorded), and `metrics` with
points. Topics: `run.<run_id>` carries every event of one run (for metrics, every
point, or only the latest point of each key with `truncated` when a key has more than
`max_points_per_key`); `experiment.<id>` carries run events and, for metrics, only the
latest point of each key (what a runs table shows).
"""

import logging
from collections.abc import Mapping, Sequence
from typing import Annotated, Any, Protocol

import numpy as np
import numpy.typing as npt
import orjson
from fastapi import Depends
from starlette.requests import HTTPConnection

from trackboard.server.backends.broadcast import Broadcast, Subscription
from trackboard.server.events import Event
from trackboard.server.metrics.values import render_value

log = logging.getLogger(__name__)

DEFAULT_MAX_POINTS_PER_KEY = 1_000


class PointColumns(Protocol):
    """One key's points as columns (the metrics domain's `Points` fits)."""

    @property
    def steps(self) -> npt.NDArray[np.int64]: ...

    @property
    def timestamps(self) -> npt.NDArray[np.int64]: ...

    @property
    def values(self) -> npt.NDArray[np.float64]: ...


class RunDocument(Protocol):
    """A run as the API returns it (`RunRead` fits): its JSON is the event's `run`."""

    @property
    def id(self) -> str: ...

    @property
    def experiment_id(self) -> int: ...

    def model_dump_json(self) -> str: ...


def run_topic(run_id: str) -> str:
    return f"run.{run_id}"


def experiment_topic(experiment_id: int) -> str:
    return f"experiment.{experiment_id}"


Triples = list[list[Any]] | npt.NDArray[np.float64]


def _triples(
    steps: npt.NDArray[np.int64],
    values: npt.NDArray[np.float64],
    timestamps: npt.NDArray[np.int64],
) -> Triples:
    """[[step, value, timestamp], ...] for JSON: a float array that orjson writes in C when
    every value is finite, Python lists with NaN and infinities as words otherwise.

    A Python list per point was a third of the worker's CPU at full ingest rate. In the
    array, steps and timestamps are floats (`1.0`): the same JSON numbers to a reader, and
    exact up to 2**53, as far as JavaScript's numbers go anyway.
    """
    if np.isfinite(values).all():
        return np.column_stack((steps, values, timestamps)).astype(np.float64, copy=False)
    return [
        [s, render_value(v), t]
        for s, v, t in zip(steps.tolist(), values.tolist(), timestamps.tolist(), strict=True)
    ]


def latest_points(series: Mapping[str, PointColumns]) -> dict[str, list[list[Any]]]:
    """Each key's latest point, by step and then timestamp (what a run's summary shows)."""
    latest: dict[str, list[list[Any]]] = {}
    for key, columns in series.items():
        if len(columns.steps) == 0:
            continue
        last = int(np.lexsort((columns.timestamps, columns.steps))[-1])
        latest[key] = [
            [
                int(columns.steps[last]),
                render_value(float(columns.values[last])),
                int(columns.timestamps[last]),
            ]
        ]
    return latest


def encode_points(
    series: Mapping[str, PointColumns],
    max_points_per_key: int,
    latest: dict[str, list[list[Any]]] | None = None,
) -> tuple[dict[str, Triples], bool]:
    """A run topic's points: every point of every key, or, when a key has more than
    `max_points_per_key`, `truncated` and only each key's latest point (`latest`, when the
    caller has it already). Serialise with `orjson.OPT_SERIALIZE_NUMPY`.

    A truncated event tells live views to read the history and the run again, so the points
    a capped event could carry would be thrown away: at full ingest rate they were most of
    the worker's live bytes."""
    if any(len(columns.steps) > max_points_per_key for columns in series.values()):
        return dict(latest if latest is not None else latest_points(series)), True
    points: dict[str, Triples] = {
        key: _triples(columns.steps, columns.values, columns.timestamps)
        for key, columns in series.items()
        if len(columns.steps)
    }
    return points, False


class LiveService:
    """Turns committed changes into messages on the broadcast; hands out subscriptions.

    Publishing is best effort: a broker error is logged, never raised, because the change
    itself is committed and live views re-read the API when they reconnect.
    """

    def __init__(
        self, broadcast: Broadcast, max_points_per_key: int = DEFAULT_MAX_POINTS_PER_KEY
    ) -> None:
        self._broadcast = broadcast
        self._max_points_per_key = max_points_per_key

    def subscribe(self, topic: str) -> Subscription:
        return self._broadcast.subscribe(topic)

    async def on_events(self, events: Sequence[Event]) -> None:
        """The event-bus subscriber: one message per run changed in the transaction."""
        runs: dict[str, tuple[bool, Event]] = {}
        for event in events:
            if event.type == "metrics.stored":
                await self._publish_stored_metrics(event)
            elif event.type.startswith("run.") and event.run_id is not None:
                created = event.type == "run.created" or runs.get(event.run_id, (False,))[0]
                runs[event.run_id] = (created, event)
        for created, event in runs.values():
            name = "run_created" if created else "run_updated"
            if event.local is not None:
                await self._publish_run(name, event.local)
            else:
                document = orjson.dumps(event.data["run"])
                await self._publish_run_json(
                    name, event.data["run"]["id"], event.data["run"]["experiment_id"], document
                )

    async def _publish_stored_metrics(self, event: Event) -> None:
        # The points themselves never leave the writing process: they ride in `local`.
        if event.run_id is not None and event.experiment_id is not None and event.local:
            await self.publish_metrics(event.run_id, event.experiment_id, event.local)

    async def publish_metrics(
        self, run_id: str, experiment_id: int, series: Mapping[str, PointColumns]
    ) -> None:
        """Call after the points' transaction committed (or the worker's, when queued)."""
        latest = latest_points(series)
        if not latest:
            return
        points, truncated = encode_points(series, self._max_points_per_key, latest)
        head: dict[str, Any] = {
            "event": "metrics",
            "run_id": run_id,
            "experiment_id": experiment_id,
        }
        run_event: dict[str, Any] = {**head, "points": points}
        if truncated:
            run_event["truncated"] = True
        await self._publish(
            run_topic(run_id), orjson.dumps(run_event, option=orjson.OPT_SERIALIZE_NUMPY)
        )
        await self._publish(
            experiment_topic(experiment_id),
            orjson.dumps({**head, "points": latest}),
        )

    async def publish_run_created(self, run: RunDocument) -> None:
        await self._publish_run("run_created", run)

    async def publish_run_updated(self, run: RunDocument) -> None:
        """Status, name, end time, params, tags, lifecycle: any change of the run's document."""
        await self._publish_run("run_updated", run)

    async def _publish_run(self, event: str, run: RunDocument) -> None:
        # The document's own JSON keeps its non-finite values as the API writes them.
        document = run.model_dump_json().encode()
        await self._publish_run_json(event, run.id, run.experiment_id, document)

    async def _publish_run_json(
        self, event: str, run_id: str, experiment_id: int, document: bytes
    ) -> None:
        message = b'{"event":"%s","run":%s}' % (event.encode(), document)
        await self._publish(run_topic(run_id), message)
        await self._publish(experiment_topic(experiment_id), message)

    async def _publish(self, topic: str, message: bytes) -> None:
        try:
            await self._broadcast.publish(topic, message)
        except Exception:
            log.warning("live event for %s not published", topic, exc_info=True)


def live_service(connection: HTTPConnection) -> LiveService:
    """The app's LiveService, built by the composition root into `app.state.live`."""
    service: LiveService = connection.app.state.live
    return service


Live = Annotated[LiveService, Depends(live_service)]
