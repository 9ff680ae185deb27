"""A training script that dies of an uncaught exception ends its integration run through
the interpreter's own path (sys.excepthook, then exit): Ctrl-C in the middle of XGBoost
training leaves the run KILLED, with the interruption as its failure tag."""

import os
import subprocess
import sys
import textwrap
import uuid

from tests.integrations.conftest import experiment_runs, finished_run
from trackboard.integrations.run_binding import FAILURE_TAG

SCRIPT = textwrap.dedent(
    """
    import sys
    import numpy as np
    import xgboost
    from trackboard.integrations.xgboost import TrackboardCallback

    class CtrlC(xgboost.callback.TrainingCallback):
        def after_iteration(self, model, epoch, evals_log):
            if epoch == 2:
                raise KeyboardInterrupt
            return False

    features = np.random.default_rng(0).random((32, 2))
    data = xgboost.DMatrix(features, label=features[:, 0])
    xgboost.train({"max_depth": 2}, data, 10, evals=[(data, "train")], verbose_eval=False,
                  callbacks=[TrackboardCallback(sys.argv[1], system_metrics=False), CtrlC()])
    """
)


def test_ctrl_c_that_ends_the_script_leaves_the_run_killed(server_url: str) -> None:
    experiment = f"xgb-ctrl-c-{uuid.uuid4().hex[:8]}"
    result = subprocess.run(
        [sys.executable, "-c", SCRIPT, experiment],
        env=dict(os.environ),
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode != 0
    assert "KeyboardInterrupt" in result.stderr
    (run,) = experiment_runs(server_url, experiment)
    run = finished_run(server_url, run.id)
    assert run.status == "KILLED"
    assert run.tags[FAILURE_TAG] == "KeyboardInterrupt"
    assert run.metrics["train/rmse"].count == 3
