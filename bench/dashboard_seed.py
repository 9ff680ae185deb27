"""Data for the dashboard benchmark and the README screenshots, written through the v1 API
(metrics, runs), the Python client (images) or straight into SQLite (100k-run tables)."""

import asyncio
import math
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import httpx
import numpy

from bench.api import seed_search_runs
from trackboard.client.run import start_run
from trackboard.client.settings import ClientSettings

BATCH = 10_000  # the API's largest batch (points per request, over all its columns)
SENDERS = 4  # concurrent batch requests: the server parses one while SQLite stores another
WIDE_EXPERIMENT_ID = 900_000


def post_batches(client: httpx.Client, batches: Iterator[tuple[str, dict[str, Any]]]) -> None:
    """POSTs `(run_id, body)` batches, SENDERS at a time."""

    def send(item: tuple[str, dict[str, Any]]) -> None:
        run_id, body = item
        client.post(f"/runs/{run_id}/metrics", json=body).raise_for_status()

    with ThreadPoolExecutor(SENDERS) as pool:
        for _ in pool.map(send, batches):
            pass


def column(key: str, steps: numpy.ndarray, values: numpy.ndarray) -> dict[str, Any]:
    return {"key": key, "steps": steps.tolist(), "values": values.round(6).tolist()}


def seed_long_run(client: httpx.Client, keys: int, points: int) -> str:
    """One run of `keys` series of `points` points (a sine with a little periodic noise)."""
    experiment_id = client.post("/experiments", json={"name": "bench-long"}).json()["id"]
    response = client.post(f"/experiments/{experiment_id}/runs", json={"name": "long"})
    run_id: str = response.json()["id"]

    def batches() -> Iterator[tuple[str, dict[str, Any]]]:
        for k in range(keys):
            for start in range(0, points, BATCH):
                steps = numpy.arange(start, min(points, start + BATCH))
                values = numpy.sin(steps / 500) + 0.001 * (steps % 97)
                yield run_id, {"columns": [column(f"metric_{k}", steps, values)]}

    post_batches(client, batches())
    return run_id


def training_curves(
    rng: numpy.random.Generator, steps: numpy.ndarray, quality: float, lr: float
) -> dict[str, numpy.ndarray]:
    """Loss falling and accuracy rising towards a level set by `quality` (0 best, 1 worst),
    with per-step noise, and a cosine learning-rate schedule from `lr`, as a training run
    logs them."""
    scale = max(1.0, float(steps[-1]) / 5)
    progress = 1 - numpy.exp(-steps / scale)
    noise = rng.normal(0, 0.02, (3, steps.size))
    return {
        "train/loss": 2.3 * (1 - progress) + 0.1 + 0.3 * quality + noise[0],
        "val/loss": 2.3 * (1 - progress) + 0.2 + 0.4 * quality + 1.5 * noise[1],
        "val/acc": (0.95 - 0.25 * quality) * progress + noise[2] / 2,
        "train/lr": lr * (1 + numpy.cos(math.pi * steps / max(1, steps[-1]))) / 2,
    }


GROUP_PARAM = "optimizer"
GROUP_VALUES = ["adam", "adamw", "sgd", "lion", "rmsprop"]


def seed_compare_runs(
    client: httpx.Client, runs: int, points: int, groups: int = 5, name: str = "bench-compare"
) -> list[str]:
    """`runs` finished runs, each with 4 keys x `points` points, a group param with `groups`
    values (`optimizer`) and a few more params; sent as batches of at most 10,000 points,
    a run's four keys in one batch when they fit."""
    experiment_id = client.post("/experiments", json={"name": name}).json()["id"]
    rng = numpy.random.default_rng(16)
    run_ids: list[str] = []
    qualities: list[float] = []
    rates: list[float] = []
    for i in range(runs):
        group = i % groups
        rates.append([0.1, 0.03, 0.01, 0.003][i // groups % 4])
        params = {
            GROUP_PARAM: GROUP_VALUES[group % len(GROUP_VALUES)],
            "lr": str(rates[-1]),
            "batch_size": str([32, 64, 128][i % 3]),
            "seed": str(i),
        }
        body = {"name": f"{params[GROUP_PARAM]}-{i:03d}", "params": params}
        run_ids.append(client.post(f"/experiments/{experiment_id}/runs", json=body).json()["id"])
        qualities.append(group / max(1, groups - 1) * 0.5 + rng.uniform(0, 0.5))

    steps_all = numpy.arange(points)

    def batches() -> Iterator[tuple[str, dict[str, Any]]]:
        for run_id, quality, lr in zip(run_ids, qualities, rates, strict=True):
            seed = int(run_id[:8], 16)
            curves = training_curves(numpy.random.default_rng(seed), steps_all, quality, lr)
            if 4 * points <= BATCH:
                yield run_id, {"columns": [column(k, steps_all, v) for k, v in curves.items()]}
                continue
            for key, values in curves.items():
                for start in range(0, points, BATCH):
                    part = slice(start, start + BATCH)
                    yield run_id, {"columns": [column(key, steps_all[part], values[part])]}

    post_batches(client, batches())
    for run_id in run_ids:
        client.patch(f"/runs/{run_id}", json={"status": "FINISHED"}).raise_for_status()
    return run_ids


def seed_many_runs(home: Path, runs: int) -> int:
    """Runs with params and metric summaries, inserted straight into the server's SQLite
    file (the benchmark measures the browser, not run creation)."""
    url = f"sqlite+aiosqlite:///{home / 'trackboard.db'}"
    asyncio.run(seed_search_runs(url, WIDE_EXPERIMENT_ID, runs))
    return WIDE_EXPERIMENT_ID


def sample_image(step: int, size: int) -> numpy.ndarray:
    """A size x size RGB frame that changes with the step: rings moving outwards."""
    y, x = numpy.mgrid[0:size, 0:size] / size - 0.5
    radius = numpy.sqrt(x * x + y * y)
    phase = step / 8
    red = 0.5 + 0.5 * numpy.sin(radius * 40 - phase)
    green = 0.5 + 0.5 * numpy.sin(x * 12 + phase / 2)
    blue = 0.5 + 0.5 * numpy.cos(y * 12 - phase / 3)
    return (numpy.stack([red, green, blue], axis=-1) * 255).astype(numpy.uint8)


def seed_image_series(url: str, home: Path, images: int, size: int = 128) -> str:
    """A run with an image series of `images` frames, logged through the client's
    `log_image` (queued, uploaded by the background sender), finished once uploaded."""
    settings = ClientSettings(url=url, home=home, flush_interval=0.05, finish_timeout=120.0)
    run = start_run(settings, "bench-media", name="image-series")
    for step in range(images):
        run.log_image("samples", sample_image(step, size), step=step, caption=f"step {step}")
    run.finish()
    return run.id
