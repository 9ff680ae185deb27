"""The wheel under test, built once per session from this tree."""

import os
import subprocess
from pathlib import Path

import pytest

from tests.packaging.wheels import ROOT, UV


@pytest.fixture(scope="session")
def wheel(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The wheel `make dist` ships, built from this tree (`TRACKBOARD_TEST_WHEEL` names one
    built already, e.g. dist/trackboard-0.1.0-py3-none-any.whl)."""
    given = os.environ.get("TRACKBOARD_TEST_WHEEL")
    if given:
        return Path(given).resolve()
    dist = tmp_path_factory.mktemp("dist")
    subprocess.run(
        [str(UV), "build", "--wheel", "--out-dir", str(dist), str(ROOT)],
        check=True,
        capture_output=True,
        timeout=600,
    )
    (built,) = dist.glob("trackboard-*.whl")
    return built
