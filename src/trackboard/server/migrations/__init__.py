"""Alembic migrations, runnable on SQLite and PostgreSQL (`trackboard db upgrade`)."""
