"""`import trackboard` stays light: no server, SQLAlchemy, FastAPI, numpy or torch."""

from __future__ import annotations

import subprocess
import sys

HEAVY = ("trackboard.server", "sqlalchemy", "fastapi", "pydantic", "numpy", "torch", "pandas")


def test_import_trackboard_loads_nothing_heavy() -> None:
    code = (
        "import sys, trackboard\n"
        "run = trackboard.init\n"
        f"heavy = [m for m in sys.modules if m.split('.')[0] in {HEAVY!r}\n"
        "         or m.startswith('trackboard.server')]\n"
        "print(','.join(heavy))\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=60, check=True
    )
    assert result.stdout.strip() == ""


def test_the_public_api_is_what_init_exports() -> None:
    import trackboard

    assert trackboard.__version__ == "0.1.0"
    for name in ("init", "Run", "Api", "TrackboardError"):
        assert name in trackboard.__all__
        assert hasattr(trackboard, name)
