"""A run's dataset inputs (MLflow's `log_input`): schemas, service, repository."""
