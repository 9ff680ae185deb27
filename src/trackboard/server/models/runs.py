"""Runs, their params (immutable once set) and tags."""

from typing import Protocol

from sqlalchemy import BigInteger, ForeignKey, Index, String, text
from sqlalchemy.orm import Mapped, mapped_column

from trackboard.server.models.base import Base


class Run(Base):
    __tablename__ = "runs"

    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    experiment_id: Mapped[int] = mapped_column(ForeignKey("experiments.id", ondelete="CASCADE"))
    name: Mapped[str] = mapped_column(String(250))
    status: Mapped[str] = mapped_column(String(20))
    start_time: Mapped[int] = mapped_column(BigInteger)
    end_time: Mapped[int | None] = mapped_column(BigInteger, default=None)
    user: Mapped[str] = mapped_column(String(256), default="")
    lifecycle_stage: Mapped[str] = mapped_column(String(32), default="active")
    artifact_uri: Mapped[str | None] = mapped_column(String(1000), default=None)
    # When the run was deleted (ms), NULL while active: `trackboard gc` purges by it.
    deleted_at: Mapped[int | None] = mapped_column(BigInteger, default=None)

    __table_args__ = (
        # The default listing order of an experiment's runs.
        Index("ix_runs_experiment_start", "experiment_id", "start_time"),
        # Newest runs across the experiments of a project (migration 0013).
        Index("ix_runs_start_time", "start_time"),
        Index(
            "ix_runs_deleted_at",
            "deleted_at",
            postgresql_where=text("deleted_at IS NOT NULL"),
            sqlite_where=text("deleted_at IS NOT NULL"),
        ),
    )


class RunFields(Protocol):
    """A run's columns, read-only: a `Run`, or a plain row of its columns (what a search
    page loads, since tracked ORM instances cost more than the query for 1,000 runs)."""

    @property
    def id(self) -> str: ...
    @property
    def experiment_id(self) -> int: ...
    @property
    def name(self) -> str: ...
    @property
    def status(self) -> str: ...
    @property
    def start_time(self) -> int: ...
    @property
    def end_time(self) -> int | None: ...
    @property
    def user(self) -> str: ...
    @property
    def lifecycle_stage(self) -> str: ...
    @property
    def artifact_uri(self) -> str | None: ...


# Search reads params and tags by (key, value) ranges (migration 0006): values up to 200
# characters are indexed with their key (a B-tree entry must stay under ~2,700 bytes), the
# rare longer ones by key alone.
SHORT_VALUE = text("length(value) <= 200")
LONG_VALUE = text("length(value) > 200")


def key_value_indexes(table: str) -> tuple[Index, Index]:
    return (
        Index(
            f"ix_{table}_key_value",
            "key",
            "value",
            postgresql_where=SHORT_VALUE,
            sqlite_where=SHORT_VALUE,
        ),
        Index(f"ix_{table}_key_long", "key", postgresql_where=LONG_VALUE, sqlite_where=LONG_VALUE),
    )


class RunParam(Base):
    __tablename__ = "run_params"

    run_id: Mapped[str] = mapped_column(ForeignKey("runs.id", ondelete="CASCADE"), primary_key=True)
    key: Mapped[str] = mapped_column(String(250), primary_key=True)
    value: Mapped[str] = mapped_column(String(6000))

    __table_args__ = key_value_indexes("run_params")


class RunTag(Base):
    __tablename__ = "run_tags"

    run_id: Mapped[str] = mapped_column(ForeignKey("runs.id", ondelete="CASCADE"), primary_key=True)
    key: Mapped[str] = mapped_column(String(250), primary_key=True)
    value: Mapped[str] = mapped_column(String(8000))

    __table_args__ = key_value_indexes("run_tags")
