"""System metrics: psutil's counters logged under `system/`, on their own step counter."""

from __future__ import annotations

import time

import pytest

from tests.client.conftest import StartRun
from tests.client.fake_server import FakeServer
from trackboard.client.system_metrics import SystemSampler


def test_a_sample_has_cpu_memory_and_io_rates_under_system() -> None:
    pytest.importorskip("psutil")
    sampler = SystemSampler()
    assert sampler.available
    sampler.sample()
    values = sampler.sample()
    sampler.close()
    for key in ("system/cpu_percent", "system/memory_percent", "system/process_rss_mb"):
        assert key in values
    assert all(key.startswith("system/") for key in values)
    assert all(value >= 0 for value in values.values())


def test_system_metrics_are_logged_without_moving_the_training_step(
    fake: FakeServer, start: StartRun
) -> None:
    pytest.importorskip("psutil")
    run = start(system_metrics=True, system_metrics_interval=0.05)
    run.log({"loss": 1.0})
    time.sleep(0.3)
    run.log({"loss": 0.5})
    run.finish()
    assert fake.series(run.id, "loss") == [(0, 1.0), (1, 0.5)]
    cpu_steps = [step for step, _ in fake.series(run.id, "system/cpu_percent")]
    assert len(cpu_steps) >= 2
    assert cpu_steps == list(range(len(cpu_steps)))
