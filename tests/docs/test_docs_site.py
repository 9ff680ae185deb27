"""The documentation site builds strictly: no broken link, no missing page, every
generated reference (REST from OpenAPI, the client from its docstrings) renders."""

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_the_docs_site_builds_strictly(tmp_path: Path) -> None:
    mkdocs = Path(sys.executable).parent / "mkdocs"
    built = subprocess.run(
        [str(mkdocs), "build", "--strict", "--site-dir", str(tmp_path / "site")],
        cwd=ROOT,
        env={**os.environ, "NO_MKDOCS_2_WARNING": "1"},
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert built.returncode == 0, built.stderr[-4000:]
    rest = (tmp_path / "site" / "reference" / "rest" / "index.html").read_text()
    assert "/api/v1/notification-rules" in rest
    client = (tmp_path / "site" / "reference" / "client" / "index.html").read_text()
    assert "alert" in client
