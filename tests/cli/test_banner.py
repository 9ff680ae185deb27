"""The start-up banner names the URL, the mode and where the data is, never a password."""

from pathlib import Path

from trackboard.cli.banner import banner
from trackboard.server.config import Settings


def test_embedded_banner_names_the_dashboard_and_the_data_file(tmp_path: Path) -> None:
    text = banner(Settings(home=tmp_path, port=5010))
    assert "http://127.0.0.1:5010/" in text
    assert f"embedded mode, data in {tmp_path / 'trackboard.db'}" in text
    assert "authentication off" in text
    assert len(text.splitlines()) == 2


def test_distributed_banner_hides_credentials() -> None:
    text = banner(
        Settings(
            database_url="postgresql+asyncpg://tb:pg-secret@db.internal:5432/tb",
            amqp_url="amqp://guest:mq-secret@mq.internal:5672/",
            redis_url="redis://:redis-secret@cache.internal:6379/0",
            auth=True,
        )
    )
    assert "distributed mode" in text
    assert "db.internal:5432/tb" in text
    assert "mq.internal" in text
    assert "cache.internal" in text
    assert "secret" not in text
    assert "authentication on" in text
