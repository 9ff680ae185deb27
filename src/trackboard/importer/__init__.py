"""Import experiments, runs, params, tags and metric histories from MLflow into Trackboard.

Sources: an MLflow tracking server (its REST API) or an `mlruns` folder (MLflow's file
store, read directly). The target is any Trackboard server, written through its v1 REST
API; re-running an import adds nothing twice.
"""
