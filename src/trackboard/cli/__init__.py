"""The `trackboard` command line."""
