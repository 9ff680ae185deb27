"""Import experiments, runs, params, tags, metric histories, dataset inputs, logged models
and artifacts from MLflow into Trackboard.

Sources: any MLflow tracking store, read through MLflow's own client (`mlflow_store`, the
`mlflow-import` extra), or, without MLflow installed, an MLflow server's REST API
(`mlflow_rest`: runs, params, tags and metrics only). The target is any Trackboard server,
written through its REST API; re-running an import adds nothing twice.
"""
