"""Framework integrations: `trackboard.integrations.lightning`, `.transformers`, `.keras`,
`.xgboost`, `.lightgbm`, `.optuna` and `.sklearn`.

Each module imports its framework when it is itself imported; importing `trackboard` or
this package imports none (a test checks it).
"""
