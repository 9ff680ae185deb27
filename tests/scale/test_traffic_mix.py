"""The traffic-mix harness (bench/traffic_mix.py) at 1/100 of the seed's users and training
runs for 10 s, against 2 API instances + 2 workers on PostgreSQL, Redis and RabbitMQ: it
runs, no request fails, every point is stored once and the figures are sane."""

import asyncio
import uuid
from pathlib import Path

import pytest
from bench.scale_plan import Plan
from bench.traffic_load import Mix
from bench.traffic_mix import ROUTES, run_mix
from bench.traffic_stack import Backing, delete_redis_prefix

from tests.distributed.conftest import assert_each_point_stored_once
from tests.services import REDIS_URL, require_service

pytestmark = pytest.mark.postgres


@pytest.mark.timeout(300)
def test_traffic_mix_at_a_hundredth_fails_nothing_and_stores_every_point_once(
    tmp_path: Path, pg_url: str, amqp_url: str
) -> None:
    require_service("Redis", "127.0.0.1", 6379)
    prefix = f"tb-test-traffic-{uuid.uuid4().hex[:8]}:"
    backing = Backing(pg_url, amqp_url, REDIS_URL, prefix, tmp_path / "stack")
    plan = Plan.at(0.0001)  # 1 experiment, 100 runs, ~100k points
    # 10 users and 1 training run; users act every 2 s (not 30) so that every route class
    # is asked in 10 s, and a run lives 4 s so that runs are finished and created.
    mix = Mix(multiplier=0.01, duration_s=10, user_interval_s=2.0, run_lifetime_s=4.0)
    try:
        [result] = run_mix(backing, [mix], plan, api_instances=2, workers=2)
    finally:
        asyncio.run(delete_redis_prefix(REDIS_URL, prefix))

    assert result.errors == dict.fromkeys(result.errors, 0), result.error_examples
    for route in ROUTES:
        samples = result.latency_s.get(route, [])
        assert samples, f"no {route} request"
        assert all(0 < s < 30 for s in samples), (route, samples)
    batches = len(result.latency_s["log batch"])
    assert 9 <= batches <= 11
    assert len(result.latency_s["run complete"]) >= 2
    # Every accepted batch became readable, and reached the sockets watching its run.
    assert result.unseen_batches == 0
    assert len(result.readable_s) == batches
    assert all(0 <= s < 30 for s in result.readable_s)
    assert result.live_frames >= batches
    assert result.live_s
    assert all(0 <= s < 30 for s in result.live_s)
    assert result.accepted_points == batches * 100
    # The servers' own histogram counted the step's batch requests, and only those.
    assert result.server_batch_s[float("inf")] == batches + result.refused
    assert result.stored_points == result.accepted_points
    expected = {**plan.expected_points(), **result.expected}
    asyncio.run(assert_each_point_stored_once(pg_url, expected))
    for component in ("API instance 1", "API instance 2", "worker 1", "worker 2"):
        assert result.cpu[component] > 0, result.cpu
    # The training runs posted from their own process, which measured its own loop.
    assert result.cpu["this load generator (training runs)"] > 0, result.cpu
    # A 100 ms timer from the start signal (half a second before the clock) to the end.
    assert 50 <= len(result.train_loop_lag_s) <= 110
    assert all(0 <= s < 30 for s in result.train_loop_lag_s + result.loop_lag_s)
