"""A report of where a test hangs, written shortly before pytest-timeout stops it.

pytest-timeout prints the threads' stacks, which for an async test show only the event
loop waiting in `select`. This also prints the stack of every pending asyncio task of every
event loop in the process (the test's, and those of servers run in threads), which says
what the test and the app were waiting for.
"""

import asyncio
import faulthandler
import sys
import threading
from collections.abc import Iterator
from types import FrameType
from typing import TextIO

import pytest

# Before pytest-timeout's own stop, so the report is written while the test still runs.
REPORT_BEFORE_TIMEOUT_S = 15.0


def _pending_tasks() -> list["asyncio.Task[object]"]:
    """Every pending task of every loop. asyncio keeps them all in one weak set; the loops
    themselves cannot be found through `gc`: the app's start-up freezes the collector's
    objects (`gc.freeze()`), loops included. Read from another thread, the set may change
    while it is copied."""
    for _ in range(5):
        try:
            every = list(asyncio.tasks._all_tasks)  # type: ignore[attr-defined]
            return [task for task in every if not task.done()]
        except RuntimeError:
            continue
    return []


def _await_chain(coro: object, limit: int = 40) -> Iterator[FrameType]:
    """The frames from a task's coroutine down to what it awaits now, innermost last
    (`Task.get_stack` gives only the outermost frame of a suspended coroutine)."""
    for _ in range(limit):
        frame = getattr(coro, "cr_frame", None) or getattr(coro, "gi_frame", None)
        if frame is None:
            return
        yield frame
        coro = getattr(coro, "cr_await", None) or getattr(coro, "gi_yieldfrom", None)


def write_report(nodeid: str, out: TextIO) -> None:
    out.write(f"\n===== hang report: {nodeid}\n")
    faulthandler.dump_traceback(file=out, all_threads=True)
    by_loop: dict[asyncio.AbstractEventLoop, list[asyncio.Task[object]]] = {}
    for task in _pending_tasks():
        by_loop.setdefault(task.get_loop(), []).append(task)
    for loop, tasks in by_loop.items():
        out.write(f"\n--- {loop!r}\n")
        for task in tasks:
            out.write(f"* {task.get_name()}: {task.get_coro()!r:.200}\n")
            for frame in _await_chain(task.get_coro()):
                code = frame.f_code
                out.write(f"    {code.co_filename}:{frame.f_lineno} in {code.co_name}\n")
    out.write("===== end of hang report\n")
    out.flush()


def _timeout_s(item: pytest.Item) -> float:
    marker = item.get_closest_marker("timeout")
    if marker is not None and marker.args:
        return float(marker.args[0])
    return float(item.config.getini("timeout") or 0)


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_call(item: pytest.Item) -> Iterator[None]:
    timeout = _timeout_s(item)
    if timeout <= REPORT_BEFORE_TIMEOUT_S:
        yield
        return

    def report() -> None:
        try:
            write_report(item.nodeid, sys.__stderr__ or sys.stderr)
        except Exception as error:  # a report must never fail the run
            print(f"hang report failed: {error!r}", file=sys.__stderr__)

    timer = threading.Timer(timeout - REPORT_BEFORE_TIMEOUT_S, report)
    timer.daemon = True
    timer.start()
    try:
        yield
    finally:
        timer.cancel()
