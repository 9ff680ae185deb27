"""Run artifacts behind MLflow's `mlflow-artifacts` proxy API, kept under the data dir."""
