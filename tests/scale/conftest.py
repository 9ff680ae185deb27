"""The distributed tests' fixtures: a database, a RabbitMQ vhost and worker processes of the
test's own."""

from tests.distributed.conftest import amqp_url, pg_url, workers

__all__ = ["amqp_url", "pg_url", "workers"]
