"""A run against the fake server: creation, logging, params, tags and final status."""

from __future__ import annotations

import math
from fractions import Fraction

import pytest

from tests.client.conftest import StartRun
from tests.client.fake_server import FakeServer
from trackboard.client.transport import RequestRejectedError


def test_init_creates_experiment_and_run_with_flattened_config(
    fake: FakeServer, start: StartRun
) -> None:
    run = start(
        "mnist",
        name="first",
        config={"optimizer": {"lr": 0.01, "betas": {"b1": 0.9}}, "epochs": 3},
        tags={"team": "vision"},
    )
    assert fake.experiments == {1: "mnist"}
    stored = fake.runs[run.id]
    assert stored.name == "first"
    assert stored.params == {"optimizer.lr": "0.01", "optimizer.betas.b1": "0.9", "epochs": "3"}
    assert stored.tags == {"team": "vision"}
    assert run.url == f"http://trackboard.test/runs/{run.id}"
    assert len(run.id) == 32


def test_init_reuses_an_existing_experiment_after_409(fake: FakeServer, start: StartRun) -> None:
    first = start("shared")
    second = start("shared")
    assert fake.experiments == {1: "shared"}
    assert fake.runs[first.id].experiment_id == fake.runs[second.id].experiment_id == 1
    assert ("GET", "/experiments/by-name/shared") in fake.requests


def test_log_auto_increments_steps_and_honours_explicit_ones(
    fake: FakeServer, start: StartRun
) -> None:
    run = start()
    run.log({"loss": 1.0})
    run.log({"loss": 0.5})
    run.log({"loss": 0.25}, step=10)
    run.log({"loss": 0.125})
    run.finish()
    assert fake.series(run.id, "loss") == [(0, 1.0), (1, 0.5), (10, 0.25), (11, 0.125)]


def test_log_accepts_ints_numpy_and_item_scalars(fake: FakeServer, start: StartRun) -> None:
    np = pytest.importorskip("numpy")

    class TensorLike:
        def item(self) -> float:
            return 2.5

    run = start()
    run.log({"i": 3, "np32": np.float32(0.5), "np64": np.int64(7), "t": TensorLike()})
    run.log({"frac": Fraction(1, 4), "flag": True})
    run.finish()
    got = {key: fake.series(run.id, key) for key in ("i", "np32", "np64", "t", "frac", "flag")}
    assert got == {
        "i": [(0, 3.0)],
        "np32": [(0, 0.5)],
        "np64": [(0, 7.0)],
        "t": [(0, 2.5)],
        "frac": [(1, 0.25)],
        "flag": [(1, 1.0)],
    }


def test_non_finite_values_arrive_as_nan_and_infinities(fake: FakeServer, start: StartRun) -> None:
    run = start()
    run.log({"x": math.nan})
    run.log({"x": math.inf})
    run.log({"x": -math.inf})
    run.finish()
    values = [value for _, value in fake.series(run.id, "x")]
    assert math.isnan(values[0])
    assert values[1:] == [math.inf, -math.inf]


def test_bad_values_and_keys_are_dropped_and_reported_once(
    fake: FakeServer, start: StartRun, caplog: pytest.LogCaptureFixture
) -> None:
    run = start()
    for step in range(3):
        run.log({"ok": 1.0, "text": "oops", "bad key!": 1.0}, step=step)
    run.finish()
    assert len(fake.series(run.id, "ok")) == 3
    assert "text" not in fake.runs[run.id].points
    warnings = [r.getMessage() for r in caplog.records if "dropped a value" in r.getMessage()]
    assert len(warnings) == 2
    assert any("'text'" in w for w in warnings)
    assert any("'bad key!'" in w for w in warnings)


def test_the_logged_dict_is_copied_so_later_changes_do_not_leak(
    fake: FakeServer, start: StartRun
) -> None:
    run = start()
    metrics = {"loss": 1.0}
    run.log(metrics)
    metrics["loss"] = 2.0
    run.log(metrics)
    run.finish()
    assert fake.series(run.id, "loss") == [(0, 1.0), (1, 2.0)]


def test_params_tags_and_status_arrive_after_the_points_logged_before_them(
    fake: FakeServer, start: StartRun
) -> None:
    run = start()
    run.log({"loss": 1.0})
    run.log_params({"model": {"depth": 4}})
    run.set_tags({"phase": "eval"})
    run.finish()
    stored = fake.runs[run.id]
    assert stored.params == {"model.depth": "4"}
    assert stored.tags == {"phase": "eval"}
    assert stored.status == "FINISHED"
    assert stored.end_time is not None
    writes = [path for method, path in fake.requests if method in ("POST", "PATCH")]
    assert writes[-4:] == [
        f"/runs/{run.id}/metrics",
        f"/runs/{run.id}/params",
        f"/runs/{run.id}/tags",
        f"/runs/{run.id}",
    ]


def test_context_manager_marks_finished_failed_and_killed(
    fake: FakeServer, start: StartRun
) -> None:
    with start() as ok:
        ok.log({"x": 1})
    with pytest.raises(ValueError, match="boom"), start() as failed:
        raise ValueError("boom")
    with pytest.raises(KeyboardInterrupt), start() as killed:
        raise KeyboardInterrupt
    assert fake.runs[ok.id].status == "FINISHED"
    assert fake.runs[failed.id].status == "FAILED"
    assert fake.runs[killed.id].status == "KILLED"


def test_sys_exit_inside_the_block_finishes_on_zero_and_fails_otherwise(
    fake: FakeServer, start: StartRun
) -> None:
    with pytest.raises(SystemExit), start() as clean:
        raise SystemExit(0)
    with pytest.raises(SystemExit), start() as failed:
        raise SystemExit("bad config")
    assert fake.runs[clean.id].status == "FINISHED"
    assert fake.runs[failed.id].status == "FAILED"


def test_log_after_finish_raises(start: StartRun) -> None:
    run = start()
    run.finish()
    with pytest.raises(RuntimeError, match="finished"):
        run.log({"x": 1})


def test_finish_twice_sends_the_status_once(fake: FakeServer, start: StartRun) -> None:
    run = start()
    run.finish("FAILED")
    run.finish("FINISHED")
    assert fake.runs[run.id].status == "FAILED"
    assert fake.requests.count(("PATCH", f"/runs/{run.id}")) == 1


def test_finish_rejects_a_non_terminal_status(start: StartRun) -> None:
    run = start()
    with pytest.raises(ValueError, match="RUNNING"):
        run.finish("RUNNING")


def test_large_logs_are_split_into_batches_of_at_most_10000_points(
    fake: FakeServer, start: StartRun
) -> None:
    run = start()
    for step in range(5_000):
        run.log({"a": step, "b": step, "c": step, "d": step, "e": step})
    run.finish()
    assert all(len(fake.series(run.id, key)) == 5_000 for key in "abcde")
    posts = [p for m, p in fake.requests if m == "POST" and p.endswith("/metrics")]
    assert len(posts) >= 3


def test_init_raises_when_the_server_refuses_the_run(fake: FakeServer, start: StartRun) -> None:
    fake.auth_key = "secret"
    with pytest.raises(RequestRejectedError) as caught:
        start()
    assert caught.value.status == 401
    assert caught.value.message == "bad API key"


def test_api_key_is_sent_as_bearer_token(fake: FakeServer, start: StartRun) -> None:
    fake.auth_key = "secret"
    run = start(settings_changes={"api_key": "secret"})
    run.log({"x": 1})
    run.finish()
    assert fake.series(run.id, "x") == [(0, 1.0)]
