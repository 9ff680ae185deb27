"""Wall-clock time in the milliseconds the API speaks."""

import time


def now_ms() -> int:
    return time.time_ns() // 1_000_000
