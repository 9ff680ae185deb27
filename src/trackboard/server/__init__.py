"""The Trackboard tracking service: FastAPI app, store, queue consumers."""
