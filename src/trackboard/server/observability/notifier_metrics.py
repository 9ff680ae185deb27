"""The notifier's instruments (sends by channel and outcome, event lag, deliveries owed) and
the outbox relay's backlog."""

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram

LAG_BUCKETS = (0.05, 0.1, 0.25, 0.5, 1, 2, 5, 10, 30, 60, 300, 3600)


class NotifierInstruments:
    def __init__(self, registry: CollectorRegistry) -> None:
        self.sent = Counter(
            "trackboard_notifications_sent_total",
            "Notifications delivered, by channel.",
            ["channel"],
            registry=registry,
        )
        self.failed = Counter(
            "trackboard_notifications_failed_total",
            "Notifications given up (a permanent error, or retried past the maximum age).",
            ["channel"],
            registry=registry,
        )
        self.retried = Counter(
            "trackboard_notifications_retried_total",
            "Sends that failed with a retryable error and were scheduled again, by channel.",
            ["channel"],
            registry=registry,
        )
        self.lag = Histogram(
            "trackboard_notification_lag_seconds",
            "Time from the event to the notification's delivery.",
            ["channel"],
            buckets=LAG_BUCKETS,
            registry=registry,
        )
        self.pending = Gauge(
            "trackboard_notifications_pending",
            "Deliveries owed and not yet sent (waiting for their first or next attempt).",
            registry=registry,
        )


def outbox_backlog_gauge(registry: CollectorRegistry) -> Gauge:
    return Gauge(
        "trackboard_event_outbox_backlog",
        "Committed events not yet published from the outbox.",
        registry=registry,
    )
