"""The replay queue on RabbitMQ, for the API servers (publish) and the workers (consume)."""

from trackboard.server.backends.dependency_guard import BreakerSettings
from trackboard.server.backends.queue import RabbitQueue
from trackboard.server.config import Settings


async def open_replay_queue(settings: Settings) -> RabbitQueue:
    assert settings.amqp_url
    return await RabbitQueue.connect(
        settings.amqp_url,
        settings.replay_queue_name,
        max_length=settings.replay_max_queue_depth,
        # The consumer applies one write at a time: a small window is enough.
        prefetch=100,
        breaker=BreakerSettings(settings.breaker_failure_threshold, settings.breaker_reset_s),
        single_active_consumer=True,
    )
