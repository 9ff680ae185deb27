"""Settings of the service, read from `TRACKBOARD_*` environment variables."""

import json
from pathlib import Path
from typing import Annotated

from pydantic import Field, field_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict


def default_home() -> Path:
    return Path.home() / ".trackboard"


class Settings(BaseSettings):
    """Everything that differs between the embedded and the distributed mode."""

    model_config = SettingsConfigDict(env_prefix="TRACKBOARD_", extra="ignore")

    home: Path = Field(default_factory=default_home)
    database_url: str | None = None
    # PostgreSQL streaming replicas for reads (JSON list or comma-separated URLs); a replica
    # further behind the primary than `replica_max_lag_s` is skipped.
    replica_urls: Annotated[list[str], NoDecode] = []
    replica_max_lag_s: float = Field(default=5.0, gt=0)
    redis_url: str | None = None
    amqp_url: str | None = None
    # The address bound (`trackboard server --host` sets it); allowed hosts default from it.
    host: str = "127.0.0.1"
    port: int = 5005
    auth: bool = False
    apply_migrations_on_start: bool | None = None
    db_pool_size: int = 10
    # How long a request waits for one of the pool's connections when all are busy before it
    # is answered 503 with Retry-After (SQLAlchemy's 30 s outlasts most clients and proxies).
    db_pool_timeout_s: float = Field(default=10.0, gt=0)
    # PostgreSQL's default (4.0) prices an index probe as a disk seek; with the working set
    # in memory or on SSD that makes the planner scan whole tables to fetch the params,
    # tags and summaries of a page of 1,000 runs (10-20 ms) instead of probing the primary
    # keys (3 ms). Set per connection by the API server; None keeps the server's setting.
    database_random_page_cost: float | None = Field(default=1.1, gt=0)
    log_json: bool = True
    log_level: str = "INFO"
    # Circuit breakers (docs/operations.md): this many failures in a row open a dependency's
    # breaker; after `breaker_reset_s` one probe decides whether it closes. Notification
    # targets (one breaker per host) wait longer: a dead webhook rarely returns in seconds.
    breaker_failure_threshold: int = Field(default=3, ge=1)
    breaker_reset_s: float = Field(default=2.0, gt=0)
    notify_breaker_reset_s: float = Field(default=30.0, gt=0)
    # Longest wait to open a PostgreSQL connection, and for the liveness ping of a pooled
    # one, before the request is answered 503 and the failure counts towards the breaker.
    database_deadline_s: float = Field(default=5.0, gt=0)
    # Longest wait for the S3 artifact store to connect (transfers themselves may be long).
    artifacts_connect_deadline_s: float = Field(default=5.0, gt=0)
    # How often each dependency is checked in the background (what /metrics reports).
    dependency_probe_interval_s: float = Field(default=5.0, gt=0)
    # Metric ingestion: the queue, its bound (503 past it), and how the writer merges.
    ingest_queue_name: str = "trackboard.metrics"
    live_exchange_name: str = "trackboard.live"
    # s3://KEY:SECRET@host/bucket/prefix for an S3-compatible store; default: files under home.
    artifacts_url: str | None = None
    ingest_max_queue_depth: int = 2_000
    ingest_retry_after_s: int = 2
    ingest_batch_max_messages: int = 200
    ingest_batch_max_points: int = 500_000
    ingest_batch_linger_s: float = 0.05
    ingest_prefetch: int = 400
    ingest_commit_timeout_s: float = 30.0
    # How long a stored batch id keeps a replayed batch from being stored twice.
    ingest_batch_id_retention_days: float = Field(default=30.0, gt=0)
    # Run writes taken while the database is unreachable (docs/operations.md), replayed in
    # order by the workers; past this many waiting, such writes get 503 + Retry-After.
    replay_queue_name: str = "trackboard.replay"
    replay_max_queue_depth: int = Field(default=100_000, ge=1)
    # Retention (docs/operations.md, "Retention and gc"), off unless set: purge runs and
    # experiments deleted more than N days ago; thin series whose newest point is older
    # than N days to `retention_max_points`. Experiments override them with
    # `trackboard.retention.*` tags; the ingest loop applies them every interval.
    retention_deleted_days: float | None = Field(default=None, ge=0)
    retention_downsample_days: float | None = Field(default=None, ge=0)
    retention_max_points: int = Field(default=10_000, ge=50)
    retention_interval_s: float = Field(default=3600.0, gt=0)
    worker_metrics_host: str = "127.0.0.1"
    worker_metrics_port: int = 9105
    # Where `trackboard notifier` serves /metrics (0: nowhere); the host is the worker's.
    notifier_metrics_port: int = 9106

    # Gateway (docs/security.md): proxies whose X-Forwarded-For is believed (IPs or CIDRs,
    # comma-separated), rate limits (on with auth unless set), sessions, key prefix in Redis.
    trusted_proxies: Annotated[list[str], NoDecode] = []
    # Host names the server answers to (comma-separated; `*` any, `*.example.com` its
    # subdomains), besides loopback names. Unset: only loopback names when bound to
    # loopback, any host otherwise (docs/security.md, DNS rebinding).
    allowed_hosts: Annotated[list[str], NoDecode] = []
    rate_limit: bool | None = None
    rate_limit_read_per_s: float = Field(default=100.0, gt=0)
    rate_limit_ingest_per_s: float = Field(default=200.0, gt=0)
    # Bucket size, in seconds of the rate: how long a burst at full speed may last.
    rate_limit_burst: float = Field(default=5.0, gt=0)
    login_attempts_per_min: float = Field(default=10.0, gt=0)
    session_ttl_s: int = 86_400
    # Request bodies (docs/security.md): the limit of every route without its own; metric
    # batches are sized to their point limits. Artifact uploads stream to the store; the
    # default is S3's limit for one PUT, which our S3 store makes.
    max_request_bytes: int = Field(default=1024 * 1024, gt=0)
    max_artifact_bytes: int = Field(default=5 * 1024**3, gt=0)
    cookie_secure: bool | None = None
    redis_key_prefix: str = "trackboard:"

    # Domain events and notifications (docs/notifications.md). The dashboard's address as
    # users reach it, for links in notifications; unset: http://<host>:<port>.
    public_url: str | None = None
    events_exchange_name: str = "trackboard.events"
    event_relay_poll_interval_s: float = Field(default=2.0, gt=0)
    event_outbox_retention_s: float = Field(default=24 * 3600.0, gt=0)
    # The embedded server runs the notifier in-process; the distributed mode runs
    # `trackboard notifier` processes (any number) on this queue.
    notifier_in_process: bool | None = None
    notifier_queue_name: str = "trackboard.notifier"
    # A delivery that keeps failing with a retryable error is given up after this long.
    notify_max_age_s: float = Field(default=24 * 3600.0, gt=0)
    notify_send_timeout_s: float = Field(default=10.0, gt=0)
    # How often RUNNING runs are checked for `run.stalled` rules.
    notify_stalled_check_s: float = Field(default=60.0, gt=0)
    # Webhook and Slack targets must be https:// on public addresses unless these allow
    # http:// or private, loopback and link-local addresses (tests, closed networks).
    notify_allow_http: bool = False
    notify_allow_private_targets: bool = False
    # smtp://user:pass@host:25 (STARTTLS when offered), smtps://...:465 (TLS from the start),
    # or smtp+starttls://... (STARTTLS required).
    smtp_url: str | None = None
    smtp_from: str = "trackboard@localhost"

    @field_validator("trusted_proxies", "allowed_hosts", "replica_urls", mode="before")
    @classmethod
    def split_list(cls, value: object) -> object:
        if isinstance(value, str):
            text = value.strip()
            if text.startswith("["):
                return json.loads(text)
            return [part.strip() for part in text.split(",") if part.strip()]
        return value

    @property
    def rate_limit_enabled(self) -> bool:
        return self.auth if self.rate_limit is None else self.rate_limit

    def resolved_database_url(self) -> str:
        """The configured URL, else a SQLite file under the data dir (embedded mode)."""
        if self.database_url:
            return self.database_url
        return f"sqlite+aiosqlite:///{self.home / 'trackboard.db'}"

    @property
    def is_embedded(self) -> bool:
        return self.resolved_database_url().startswith("sqlite")

    def should_migrate_on_start(self) -> bool:
        """Embedded mode applies migrations at start; the distributed one uses `db upgrade`."""
        if self.apply_migrations_on_start is not None:
            return self.apply_migrations_on_start
        return self.is_embedded

    def runs_notifier_in_process(self) -> bool:
        """The embedded server notifies in-process; with a broker, notifier processes do."""
        if self.notifier_in_process is not None:
            return self.notifier_in_process
        return self.amqp_url is None

    def dashboard_url(self) -> str:
        """The dashboard's base address for links, without a trailing slash."""
        if self.public_url:
            return self.public_url.rstrip("/")
        host = "localhost" if self.host in ("127.0.0.1", "0.0.0.0", "::", "::1") else self.host
        return f"http://{host}:{self.port}"
