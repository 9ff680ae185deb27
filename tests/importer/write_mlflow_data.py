"""Log a small but varied MLflow dataset with the official client (MLFLOW_TRACKING_URI).

`python write_mlflow_data.py PREFIX` writes experiments PREFIX-a and PREFIX-b;
`python write_mlflow_data.py PREFIX more RUN_ID` adds points to one run afterwards.
"""

import math
import sys

import mlflow
from mlflow import MlflowClient
from mlflow.entities import Metric

prefix = sys.argv[1]
client = MlflowClient()

if len(sys.argv) > 2 and sys.argv[2] == "more":
    client.log_batch(
        sys.argv[3],
        metrics=[Metric("loss", 0.001 * step, 2_000_000 + step, step) for step in range(100, 130)],
    )
    sys.exit(0)

mlflow.set_experiment(f"{prefix}-a")
mlflow.set_experiment_tag("team", "vision")
for index, status in enumerate(["FINISHED", "FAILED"]):
    with mlflow.start_run(run_name=f"a-{index}") as run:
        mlflow.log_params({"lr": 0.1 * (index + 1), "optimizer": "adam", "long": "x" * 300})
        mlflow.set_tags({"kind": "sweep", "nested/key": "v"})
        client.log_batch(
            run.info.run_id,
            metrics=[Metric("loss", 1 / (step + 1), 1_000_000 + step, step) for step in range(100)]
            + [Metric("val/acc", 0.5 + step / 100, 1_000_000 + step, step) for step in range(40)],
        )
        mlflow.log_metric("weird", math.nan, step=0)
        mlflow.log_metric("weird", 2.0, step=1)
        mlflow.log_metric("same_step", 1.0, step=3, timestamp=5)
        mlflow.log_metric("same_step", 2.0, step=3, timestamp=6)
        if status != "FINISHED":
            mlflow.end_run(status=status)
    print(run.info.run_id)

mlflow.set_experiment(f"{prefix}-b")
with mlflow.start_run(run_name="parent") as parent:
    mlflow.log_metric("x", 1.0)
    with mlflow.start_run(run_name="child", nested=True):
        mlflow.log_param("p", "child-param")
        mlflow.log_metric("x", 3.0, step=2)
with mlflow.start_run(run_name="deleted") as deleted:
    mlflow.log_metric("x", 9.0)
client.delete_run(deleted.info.run_id)
