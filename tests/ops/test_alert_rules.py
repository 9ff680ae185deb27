"""The shipped Prometheus alert rules load, and fire as their unit tests say (promtool)."""

import os
import shutil
import subprocess
from pathlib import Path

import pytest

RULES_DIR = Path(__file__).resolve().parents[2] / "ops" / "prometheus"


def promtool() -> str:
    found = shutil.which("promtool")
    if found is None:
        message = "promtool is not installed (Debian package prometheus; `make ops-tools`)"
        if os.environ.get("CI") == "true":
            pytest.fail(f"{message} (CI=true: no skipping)")
        pytest.skip(message)
    return found


def run(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [promtool(), *args], cwd=RULES_DIR, capture_output=True, text=True, timeout=60
    )


def test_alert_rules_are_valid() -> None:
    result = run("check", "rules", "alerts.yml")
    assert result.returncode == 0, result.stdout + result.stderr
    # Every rule in the file was read (a rule promtool skipped would not be counted).
    shipped = (RULES_DIR / "alerts.yml").read_text().count("- alert: ")
    assert f"{shipped} rules found" in result.stdout


def test_alerts_fire_as_their_unit_tests_expect() -> None:
    result = run("test", "rules", "alerts_test.yml")
    assert result.returncode == 0, result.stdout + result.stderr
    assert "SUCCESS" in result.stdout
