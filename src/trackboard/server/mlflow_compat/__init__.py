"""MLflow's tracking REST API, translated onto our domain services (no SQL of its own)."""
