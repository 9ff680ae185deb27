"""Run search: MLflow's filter and order-by language, compiled into parameterised SQL."""
