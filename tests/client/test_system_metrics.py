"""System metrics: psutil's counters logged under `system/`, on their own step counter."""

from __future__ import annotations

import sys
import time
import types
from types import SimpleNamespace

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


def test_gpus_are_sampled_through_pynvml_when_it_is_installed(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    calls: list[str] = []
    nvml = types.ModuleType("pynvml")
    nvml.NVML_TEMPERATURE_GPU = 0  # type: ignore[attr-defined]
    nvml.nvmlInit = lambda: calls.append("init")  # type: ignore[attr-defined]
    nvml.nvmlShutdown = lambda: calls.append("shutdown")  # type: ignore[attr-defined]
    nvml.nvmlDeviceGetCount = lambda: 2  # type: ignore[attr-defined]
    nvml.nvmlDeviceGetHandleByIndex = lambda i: i  # type: ignore[attr-defined]
    nvml.nvmlDeviceGetUtilizationRates = lambda h: SimpleNamespace(gpu=50 + h)  # type: ignore[attr-defined]
    nvml.nvmlDeviceGetMemoryInfo = lambda h: SimpleNamespace(used=2 * 2**20, total=8 * 2**20)  # type: ignore[attr-defined]
    nvml.nvmlDeviceGetTemperature = lambda h, sensor: 70  # type: ignore[attr-defined]
    nvml.nvmlDeviceGetPowerUsage = lambda h: 150_000  # type: ignore[attr-defined]
    monkeypatch.setitem(sys.modules, "pynvml", nvml)
    sampler = SystemSampler()
    values = sampler.sample()
    sampler.close()
    assert values["system/gpu.0.utilization_percent"] == 50.0
    assert values["system/gpu.1.utilization_percent"] == 51.0
    assert values["system/gpu.1.memory_percent"] == 25.0
    assert values["system/gpu.0.memory_used_mb"] == 2.0
    assert values["system/gpu.0.temperature_c"] == 70.0
    assert values["system/gpu.0.power_w"] == 150.0
    assert calls == ["init", "shutdown"]


def test_a_machine_without_a_gpu_driver_logs_no_gpu_metrics(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    nvml = types.ModuleType("pynvml")

    def no_driver() -> None:
        raise RuntimeError("NVML Shared Library Not Found")

    nvml.nvmlInit = no_driver  # type: ignore[attr-defined]
    monkeypatch.setitem(sys.modules, "pynvml", nvml)
    sampler = SystemSampler()
    assert not any(key.startswith("system/gpu") for key in sampler.sample())
    sampler.close()
