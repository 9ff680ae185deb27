"""Write one benchmark's section into docs/benchmarks.md, with the machine and the date."""

import datetime
import os
import platform
import re
import statistics
from pathlib import Path

BENCHMARKS_MD = Path(__file__).resolve().parent.parent / "docs" / "benchmarks.md"
HEADER = (
    "# Benchmarks\n\n"
    "Every section is written by the benchmark named in it (`python bench/<name>.py`);\n"
    "figures are medians of several runs on the machine stated, measured in one run\n"
    "where they are compared.\n"
)


def machine() -> str:
    cpu = "unknown CPU"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    memory_gib = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30
    return (
        f"{platform.system()} {platform.release()}, {os.cpu_count()} cores ({cpu}), "
        f"{memory_gib:.0f} GiB, Python {platform.python_version()}"
    )


def percentile(samples: list[float], p: float) -> float:
    ordered = sorted(samples)
    if not ordered:
        return float("nan")
    index = min(len(ordered) - 1, max(0, round(p / 100 * (len(ordered) - 1))))
    return ordered[index]


def median(samples: list[float]) -> float:
    return statistics.median(samples) if samples else float("nan")


def write_section(name: str, body: str, path: Path = BENCHMARKS_MD, header: str = HEADER) -> None:
    """Replace (or add) the section of benchmark `name` in `path` (docs/benchmarks.md by
    default, begun with `header` when new), keeping the others."""
    text = path.read_text() if path.exists() else header
    stamp = datetime.datetime.now(datetime.UTC).strftime("%Y-%m-%d %H:%M UTC")
    section = (
        f"<!-- bench:{name} -->\n## {name}\n\n"
        f"Measured {stamp} on {machine()}.\n\n{body.strip()}\n<!-- /bench:{name} -->"
    )
    pattern = re.compile(
        rf"<!-- bench:{re.escape(name)} -->.*?<!-- /bench:{re.escape(name)} -->", re.S
    )
    text = (
        pattern.sub(lambda _: section, text)
        if pattern.search(text)
        else f"{text.rstrip()}\n\n{section}\n"
    )
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)


def write_keeping_hand_notes(path: Path, text: str, marker: str) -> None:
    """Write a benchmark's report to `path`, keeping what follows `marker` in the old file:
    the analysis written by hand (why a target was missed, what changed), which a rerun
    of the benchmark must not erase."""
    old = path.read_text() if path.exists() else ""
    kept = old[old.index(marker) :] if marker in old else ""
    path.write_text(text.rstrip("\n") + "\n\n" + kept if kept else text)
