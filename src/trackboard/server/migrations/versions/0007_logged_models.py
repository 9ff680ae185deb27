"""logged models (MLflow 3) and dataset inputs

Revision ID: 0007_logged_models
Revises: 0006_search_indexes
Create Date: 2026-12-07 11:45:00

Logged models with their params, tags and metrics, the run↔model links, and a table of
run dataset inputs. Inputs were kept before in a run tag (`trackboard.mlflow.inputs`, a
JSON list holding name, digest and source type); they move into the new table here.
"""

from collections.abc import Sequence

import orjson
import sqlalchemy as sa
from alembic import op

revision: str = "0007_logged_models"
down_revision: str | None = "0006_search_indexes"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

BigIntId = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
LEGACY_INPUTS_TAG = "trackboard.mlflow.inputs"


def _model_child(name: str, *columns: sa.Column[object], key: bool = True) -> None:
    op.create_table(
        name,
        sa.Column("model_id", sa.String(length=64), nullable=False),
        *columns,
        sa.ForeignKeyConstraint(
            ["model_id"],
            ["logged_models.id"],
            name=op.f(f"fk_{name}_model_id_logged_models"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint(*(["model_id", "key"] if key else ["id"]), name=op.f(f"pk_{name}")),
    )


def upgrade() -> None:
    op.create_table(
        "logged_models",
        sa.Column("id", sa.String(length=64), nullable=False),
        sa.Column("experiment_id", BigIntId, nullable=False),
        sa.Column("name", sa.String(length=500), nullable=False),
        sa.Column("artifact_location", sa.String(length=1000), nullable=False),
        sa.Column("creation_time", sa.BigInteger(), nullable=False),
        sa.Column("last_update_time", sa.BigInteger(), nullable=False),
        sa.Column("model_type", sa.String(length=500), nullable=True),
        sa.Column("status", sa.String(length=40), nullable=False),
        sa.Column("lifecycle_stage", sa.String(length=32), nullable=False),
        sa.Column("source_run_id", sa.String(length=32), nullable=True),
        sa.ForeignKeyConstraint(
            ["experiment_id"],
            ["experiments.id"],
            name=op.f("fk_logged_models_experiment_id_experiments"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_logged_models")),
    )
    op.create_index(
        "ix_logged_models_experiment_created", "logged_models", ["experiment_id", "creation_time"]
    )
    op.create_index(op.f("ix_logged_models_source_run_id"), "logged_models", ["source_run_id"])
    _model_child(
        "logged_model_params",
        sa.Column("key", sa.String(length=250), nullable=False),
        sa.Column("value", sa.String(length=6000), nullable=False),
    )
    _model_child(
        "logged_model_tags",
        sa.Column("key", sa.String(length=250), nullable=False),
        sa.Column("value", sa.String(length=8000), nullable=False),
    )
    _model_child(
        "logged_model_metrics",
        sa.Column("id", BigIntId, autoincrement=True, nullable=False),
        sa.Column("key", sa.String(length=250), nullable=False),
        sa.Column("value", sa.Float(), nullable=True),
        sa.Column("timestamp", sa.BigInteger(), nullable=False),
        sa.Column("step", sa.BigInteger(), nullable=False),
        sa.Column("run_id", sa.String(length=32), nullable=True),
        sa.Column("dataset_name", sa.String(length=500), nullable=True),
        sa.Column("dataset_digest", sa.String(length=36), nullable=True),
        key=False,
    )
    op.create_index(op.f("ix_logged_model_metrics_model_id"), "logged_model_metrics", ["model_id"])
    op.create_table(
        "run_model_links",
        sa.Column("run_id", sa.String(length=32), nullable=False),
        sa.Column("model_id", sa.String(length=64), nullable=False),
        sa.Column("direction", sa.String(length=10), nullable=False),
        sa.Column("step", sa.BigInteger(), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["run_id"],
            ["runs.id"],
            name=op.f("fk_run_model_links_run_id_runs"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint(
            "run_id", "model_id", "direction", "step", name=op.f("pk_run_model_links")
        ),
    )
    op.create_table(
        "run_dataset_inputs",
        sa.Column("id", BigIntId, autoincrement=True, nullable=False),
        sa.Column("run_id", sa.String(length=32), nullable=False),
        sa.Column("name", sa.String(length=500), nullable=False),
        sa.Column("digest", sa.String(length=36), nullable=False),
        sa.Column("source_type", sa.String(length=36), nullable=False),
        sa.Column("source", sa.Text(), nullable=False),
        sa.Column("schema", sa.Text(), nullable=True),
        sa.Column("profile", sa.Text(), nullable=True),
        sa.Column("tags", sa.Text(), nullable=False),
        sa.Column("context", sa.String(length=500), nullable=True),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["run_id"],
            ["runs.id"],
            name=op.f("fk_run_dataset_inputs_run_id_runs"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_run_dataset_inputs")),
    )
    op.create_index(
        "uq_run_dataset_inputs_run_dataset",
        "run_dataset_inputs",
        ["run_id", "name", "digest"],
        unique=True,
    )
    op.create_index("ix_run_dataset_inputs_name_digest", "run_dataset_inputs", ["name", "digest"])
    _move_legacy_inputs()


def _move_legacy_inputs() -> None:
    """Inputs kept in the legacy run tag become rows; the tag goes."""
    connection = op.get_bind()
    tags = sa.table("run_tags", sa.column("run_id"), sa.column("key"), sa.column("value"))
    inputs = sa.table(
        "run_dataset_inputs",
        *(sa.column(name) for name in ("run_id", "name", "digest", "source_type", "source")),
        sa.column("tags"),
        sa.column("context"),
        sa.column("position"),
    )
    rows = connection.execute(
        sa.select(tags.c.run_id, tags.c.value).where(tags.c.key == LEGACY_INPUTS_TAG)
    ).all()
    for run_id, text in rows:
        seen: set[tuple[str, str]] = set()
        for position, entry in enumerate(orjson.loads(text)):
            dataset = entry.get("dataset", {})
            identity = (str(dataset.get("name", "")), str(dataset.get("digest", "")))
            if identity in seen:
                continue
            seen.add(identity)
            input_tags = entry.get("tags") or []
            context = next(
                (t.get("value") for t in input_tags if t.get("key") == "mlflow.data.context"),
                None,
            )
            connection.execute(
                inputs.insert().values(
                    run_id=run_id,
                    name=identity[0],
                    digest=identity[1],
                    source_type=str(dataset.get("source_type", "")),
                    source="",
                    tags=orjson.dumps(input_tags).decode(),
                    context=context,
                    position=position,
                )
            )
    connection.execute(tags.delete().where(tags.c.key == LEGACY_INPUTS_TAG))


def downgrade() -> None:
    op.drop_table("run_dataset_inputs")
    op.drop_table("run_model_links")
    op.drop_table("logged_model_metrics")
    op.drop_table("logged_model_tags")
    op.drop_table("logged_model_params")
    op.drop_table("logged_models")
