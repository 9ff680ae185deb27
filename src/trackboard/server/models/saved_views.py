"""Saved views: a named state of an experiment's runs page, kept per experiment."""

from sqlalchemy import BigInteger, ForeignKey, Index, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from trackboard.server.models.base import Base, BigIntId


class SavedView(Base):
    __tablename__ = "saved_views"

    id: Mapped[int] = mapped_column(BigIntId, primary_key=True, autoincrement=True)
    # A view dies with its experiment (a purge); a soft-deleted experiment keeps its views.
    experiment_id: Mapped[int] = mapped_column(ForeignKey("experiments.id", ondelete="CASCADE"))
    name: Mapped[str] = mapped_column(String(200))
    # JSON of `saved_views.schemas.ViewState`, validated and size-bounded before it is stored.
    state: Mapped[str] = mapped_column(Text)
    created_by: Mapped[str] = mapped_column(String(256), default="")
    created_at: Mapped[int] = mapped_column(BigInteger)
    updated_by: Mapped[str] = mapped_column(String(256), default="")
    updated_at: Mapped[int] = mapped_column(BigInteger)

    __table_args__ = (
        # One name per experiment; also the index the experiment's list is read by.
        Index("uq_saved_views_experiment_id", "experiment_id", "name", unique=True),
    )
