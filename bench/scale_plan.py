"""What the scale loader writes, derived from (scale, seed) alone: a resumed load posts the
same experiments, runs (client-chosen ids) and batches (fixed batch ids) again, which the
API stores once.

At scale 1.0: 10,000 experiments of Zipf-skewed sizes (the largest ~200k runs, three over
50k), 1,000,000 runs with 10-30 params, 5-10 tags and 5-20 metric keys each, and about
1,000,000,000 points: three long series of 10,000,000 points in the largest experiment, the
rest 970 a run, split evenly over its keys (rounded down, so a little less in all). The
params, tags and metrics that `bench.search_shapes.shapes` filters and sorts on are among
them, with the same value distributions.
"""

import hashlib
import random
from collections.abc import Iterator
from dataclasses import dataclass

from bench.search_shapes import START, STATUSES, TEAMS

FULL_EXPERIMENTS = 10_000
FULL_RUNS = 1_000_000
FULL_POINTS = 1_000_000_000
FULL_LONG_SERIES_POINTS = 10_000_000
LONG_SERIES = 3
LONG_KEY = "long/loss"
# Experiments of one project that a search names at once: the API takes at most 1,000 ids.
PROJECT_EXPERIMENTS = 1_000


@dataclass(frozen=True)
class RunPlan:
    id: str
    experiment_index: int
    index: int  # within its experiment: its name and start time
    name: str
    status: str
    start_time: int
    params: dict[str, str]
    tags: dict[str, str]
    series: dict[str, int]  # key -> points


def zipf_sizes(total: int, count: int, exponent: float = 1.2) -> list[int]:
    """`total` split over `count` parts with weights 1/rank^exponent, each at least 1, largest
    first. 1.2 gives, at 1M runs over 10,000 experiments, three of more than 50k runs."""
    weights = [1 / (rank + 1) ** exponent for rank in range(count)]
    scale = (total - count) / sum(weights)
    sizes = [1 + int(w * scale) for w in weights]
    for i in range(total - sum(sizes)):  # the rounding remainder, to the largest
        sizes[i % count] += 1
    return sizes


@dataclass(frozen=True)
class Plan:
    scale: float
    seed: int
    experiment_runs: tuple[int, ...]  # runs per experiment, largest first
    points_per_run: int
    long_series_points: int

    @classmethod
    def at(cls, scale: float, seed: int = 18) -> "Plan":
        experiments = max(1, round(FULL_EXPERIMENTS * scale))
        runs = max(experiments, round(FULL_RUNS * scale), LONG_SERIES)
        long_points = max(1, round(FULL_LONG_SERIES_POINTS * scale))
        short_points = max(0, round(FULL_POINTS * scale) - LONG_SERIES * long_points)
        return cls(
            scale=scale,
            seed=seed,
            experiment_runs=tuple(zipf_sizes(runs, experiments)),
            points_per_run=max(5, short_points // runs),
            long_series_points=long_points,
        )

    @property
    def runs(self) -> int:
        return sum(self.experiment_runs)

    def experiment_name(self, index: int) -> str:
        return f"scale-{self.seed}-{index}"

    def project_of(self, index: int) -> int:
        return index // PROJECT_EXPERIMENTS

    def run(self, experiment_index: int, index: int) -> RunPlan:
        run_id = hashlib.blake2b(
            f"{self.seed}:{experiment_index}:{index}".encode(), digest_size=16
        ).hexdigest()
        rng = random.Random(run_id)
        params = {
            "lr": rng.choice(["0.1", "0.01", "0.001"]),
            "optimizer": rng.choice(["adam", "sgd", "adamw"]),
            "batch_size": str(rng.choice([16, 32, 64, 128])),
        }
        for j in range(rng.randint(10, 30) - len(params)):
            params[f"hp_{j}"] = f"{rng.random():.6g}"
        tags = {"team": rng.choice(TEAMS), "env": rng.choice(["dev", "prod"])}
        for j in range(rng.randint(5, 10) - len(tags)):
            tags[f"label_{j}"] = rng.choice(["a", "b", "c", "d"]) + str(rng.randint(0, 99))
        keys = ["acc", "loss"] + (["val_loss"] if index % 3 == 0 else [])
        keys += [f"train/metric_{j}" for j in range(rng.randint(5, 20) - len(keys))]
        per_key = max(1, self.points_per_run // len(keys))
        series = dict.fromkeys(keys, per_key)
        if experiment_index == 0 and index < LONG_SERIES:
            series[LONG_KEY] = self.long_series_points
        return RunPlan(
            id=run_id,
            experiment_index=experiment_index,
            index=index,
            name=f"run-{index}",
            status=rng.choice(STATUSES),
            start_time=START + index,
            params=params,
            tags=tags,
            series=series,
        )

    def all_runs(self, start: int = 0) -> Iterator[RunPlan]:
        """Every run in load order (experiment by experiment), from global position `start`."""
        position = 0
        for experiment_index, size in enumerate(self.experiment_runs):
            if position + size <= start:
                position += size
                continue
            for index in range(max(0, start - position), size):
                yield self.run(experiment_index, index)
            position += size

    def expected_points(self) -> dict[tuple[str, str], int]:
        """(run id, key) -> points, for every series of the plan."""
        return {
            (run.id, key): points for run in self.all_runs() for key, points in run.series.items()
        }
