"""MLflow 3 logged models: schemas, service, repository, filter parser."""
