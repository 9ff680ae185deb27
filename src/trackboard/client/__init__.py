"""The Python client's private modules; the public surface is `trackboard/__init__.py`."""
