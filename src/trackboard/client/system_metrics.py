"""Optional system metrics (`init(system_metrics=True)`): CPU, memory, disk and network I/O
through psutil, GPUs through pynvml, each only if installed, logged under `system/`."""

from __future__ import annotations

import contextlib
import importlib
import logging
import threading
import time
from collections.abc import Callable
from typing import Any

logger = logging.getLogger("trackboard")

MB = 1024 * 1024


def _optional(module: str) -> Any:
    try:
        return importlib.import_module(module)
    except ImportError:
        return None


class SystemSampler:
    """Reads the machine's counters; rates are per second since the previous sample."""

    def __init__(self) -> None:
        self._psutil = _optional("psutil")
        self._nvml = _optional("pynvml")
        self._gpus: list[Any] = []
        self._previous: dict[str, float] = {}
        self._previous_time = time.monotonic()
        if self._psutil is not None:
            self._process = self._psutil.Process()
            self._psutil.cpu_percent(None)  # the first call only starts the measurement
            self._counters()
        if self._nvml is not None:
            try:
                self._nvml.nvmlInit()
                count = self._nvml.nvmlDeviceGetCount()
                self._gpus = [self._nvml.nvmlDeviceGetHandleByIndex(i) for i in range(count)]
            except Exception:  # no driver or no GPU: pynvml raises its own NVMLError types
                self._nvml = None

    @property
    def available(self) -> bool:
        return self._psutil is not None or bool(self._gpus)

    def _counters(self) -> dict[str, float]:
        counters: dict[str, float] = {}
        disk = self._psutil.disk_io_counters()
        if disk is not None:
            counters["disk_read_mb_s"] = disk.read_bytes / MB
            counters["disk_write_mb_s"] = disk.write_bytes / MB
        net = self._psutil.net_io_counters()
        if net is not None:
            counters["net_sent_mb_s"] = net.bytes_sent / MB
            counters["net_recv_mb_s"] = net.bytes_recv / MB
        return counters

    def sample(self) -> dict[str, float]:
        values: dict[str, float] = {}
        if self._psutil is not None:
            values["system/cpu_percent"] = float(self._psutil.cpu_percent(None))
            memory = self._psutil.virtual_memory()
            values["system/memory_percent"] = float(memory.percent)
            values["system/memory_used_mb"] = memory.used / MB
            values["system/process_rss_mb"] = self._process.memory_info().rss / MB
            now = time.monotonic()
            elapsed = max(now - self._previous_time, 1e-6)
            counters = self._counters()
            for name, total in counters.items():
                if name in self._previous:
                    values[f"system/{name}"] = max(0.0, total - self._previous[name]) / elapsed
            self._previous, self._previous_time = counters, now
        for index, handle in enumerate(self._gpus):
            values.update(self._gpu_sample(index, handle))
        return values

    def _gpu_sample(self, index: int, handle: Any) -> dict[str, float]:
        nvml, prefix = self._nvml, f"system/gpu.{index}"
        try:
            utilization = nvml.nvmlDeviceGetUtilizationRates(handle)
            memory = nvml.nvmlDeviceGetMemoryInfo(handle)
            values = {
                f"{prefix}.utilization_percent": float(utilization.gpu),
                f"{prefix}.memory_used_mb": memory.used / MB,
                f"{prefix}.memory_percent": 100.0 * memory.used / max(memory.total, 1),
                f"{prefix}.temperature_c": float(
                    nvml.nvmlDeviceGetTemperature(handle, nvml.NVML_TEMPERATURE_GPU)
                ),
            }
            values[f"{prefix}.power_w"] = nvml.nvmlDeviceGetPowerUsage(handle) / 1000.0
        except Exception:  # a GPU that stops answering must not stop the run
            return {}
        return values

    def close(self) -> None:
        if self._nvml is not None and self._gpus:
            # Shutting down twice or a vanished driver: nothing left to do.
            with contextlib.suppress(Exception):
                self._nvml.nvmlShutdown()


class SystemMonitor:
    """A daemon thread logging a sample every `interval` seconds until stopped."""

    def __init__(self, log: Callable[[dict[str, float]], None], interval: float = 10.0) -> None:
        self._log = log
        self._interval = interval
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, name="trackboard-system", daemon=True)
        self._sampler: SystemSampler | None = None

    def start(self) -> None:
        self._sampler = SystemSampler()
        if not self._sampler.available:
            logger.warning("trackboard: system_metrics needs psutil (pip install psutil)")
            return
        self._thread.start()

    def _loop(self) -> None:
        assert self._sampler is not None
        while not self._stop.wait(self._interval):
            try:
                values = self._sampler.sample()
            except Exception:  # a failing counter must not kill the thread silently
                logger.exception("trackboard: reading system metrics failed")
                continue
            if values:
                self._log(values)

    def stop(self) -> None:
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join(timeout=5)
        if self._sampler is not None:
            self._sampler.close()
