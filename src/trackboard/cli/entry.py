"""The `trackboard` command: the full CLI when the server extra is installed, else the
client's own (`cli.light`: `sync` and `--version`)."""

import importlib.util
import sys


def main() -> None:
    if importlib.util.find_spec("typer") is None or importlib.util.find_spec("rich") is None:
        from trackboard.cli.light import main as light_main

        sys.exit(light_main(sys.argv[1:]))
    from trackboard.cli.main import app

    app()
