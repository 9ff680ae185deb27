"""Fuzz every operation in /openapi.json against a real server: no input may cause a 5xx."""

import subprocess
import sys
from pathlib import Path

from tests.live_server import live_server


def test_no_generated_request_gets_a_server_error(tmp_path: Path) -> None:
    with live_server(tmp_path) as url:
        result = subprocess.run(
            [
                str(Path(sys.executable).with_name("schemathesis")),
                "run",
                f"{url}/openapi.json",
                "--checks",
                "not_a_server_error",
                "--max-examples",
                "40",
                "--max-time",
                "120",
                "--seed",
                "20261127",
                "--request-timeout",
                "20",
                "--suppress-health-check",
                "all",
            ],
            capture_output=True,
            text=True,
            timeout=240,
        )
    assert result.returncode == 0, result.stdout[-6000:] + result.stderr[-2000:]
