"""accounts: users, projects, memberships, API keys; experiments.project_id

Revision ID: 0003_accounts
Revises: 0001
Create Date: 2026-11-27 23:55:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0003_accounts"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

BigIntId = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "users",
        sa.Column("id", BigIntId, autoincrement=True, nullable=False),
        sa.Column("username", sa.String(length=150), nullable=False),
        sa.Column("password_hash", sa.String(length=255), nullable=False),
        sa.Column("is_admin", sa.Boolean(), nullable=False),
        sa.Column("created_at", sa.BigInteger(), nullable=False),
        sa.Column("disabled_at", sa.BigInteger(), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_users")),
        sa.UniqueConstraint("username", name=op.f("uq_users_username")),
    )
    op.create_table(
        "projects",
        sa.Column("id", BigIntId, autoincrement=True, nullable=False),
        sa.Column("name", sa.String(length=150), nullable=False),
        sa.Column("created_at", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_projects")),
        sa.UniqueConstraint("name", name=op.f("uq_projects_name")),
    )
    op.create_table(
        "project_members",
        sa.Column("project_id", BigIntId, nullable=False),
        sa.Column("user_id", BigIntId, nullable=False),
        sa.Column("role", sa.String(length=16), nullable=False),
        sa.ForeignKeyConstraint(
            ["project_id"],
            ["projects.id"],
            name=op.f("fk_project_members_project_id_projects"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["user_id"],
            ["users.id"],
            name=op.f("fk_project_members_user_id_users"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("project_id", "user_id", name=op.f("pk_project_members")),
    )
    op.create_index("ix_project_members_user", "project_members", ["user_id"])
    op.create_table(
        "api_keys",
        sa.Column("id", BigIntId, autoincrement=True, nullable=False),
        sa.Column("prefix", sa.String(length=16), nullable=False),
        sa.Column("key_hash", sa.String(length=64), nullable=False),
        sa.Column("project_id", BigIntId, nullable=False),
        sa.Column("role", sa.String(length=16), nullable=False),
        sa.Column("user_id", BigIntId, nullable=True),
        sa.Column("name", sa.String(length=150), nullable=False),
        sa.Column("created_at", sa.BigInteger(), nullable=False),
        sa.Column("last_used_at", sa.BigInteger(), nullable=True),
        sa.Column("revoked_at", sa.BigInteger(), nullable=True),
        sa.ForeignKeyConstraint(
            ["project_id"],
            ["projects.id"],
            name=op.f("fk_api_keys_project_id_projects"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["user_id"], ["users.id"], name=op.f("fk_api_keys_user_id_users"), ondelete="SET NULL"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_api_keys")),
        sa.UniqueConstraint("prefix", name=op.f("uq_api_keys_prefix")),
        sa.UniqueConstraint("key_hash", name=op.f("uq_api_keys_key_hash")),
    )
    op.create_index("ix_api_keys_project", "api_keys", ["project_id"])
    # SQLite adds a nullable column with a REFERENCES clause in place; batch mode would
    # rebuild `experiments` and risk its partial unique index, so it is not used here.
    if op.get_bind().dialect.name == "sqlite":
        op.execute(
            "ALTER TABLE experiments ADD COLUMN project_id INTEGER "
            "CONSTRAINT fk_experiments_project_id_projects "
            "REFERENCES projects (id) ON DELETE SET NULL"
        )
    else:
        op.add_column("experiments", sa.Column("project_id", sa.BigInteger(), nullable=True))
        op.create_foreign_key(
            op.f("fk_experiments_project_id_projects"),
            "experiments",
            "projects",
            ["project_id"],
            ["id"],
            ondelete="SET NULL",
        )
    op.create_index(op.f("ix_experiments_project_id"), "experiments", ["project_id"])


def downgrade() -> None:
    op.drop_index(op.f("ix_experiments_project_id"), table_name="experiments")
    if op.get_bind().dialect.name == "sqlite":
        op.execute("ALTER TABLE experiments DROP COLUMN project_id")
    else:
        op.drop_constraint(
            op.f("fk_experiments_project_id_projects"), "experiments", type_="foreignkey"
        )
        op.drop_column("experiments", "project_id")
    op.drop_index("ix_api_keys_project", table_name="api_keys")
    op.drop_table("api_keys")
    op.drop_index("ix_project_members_user", table_name="project_members")
    op.drop_table("project_members")
    op.drop_table("projects")
    op.drop_table("users")
