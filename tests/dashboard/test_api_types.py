"""The dashboard's API types are generated from the server's OpenAPI document, and this
fails when `dashboard/src/api/schema.d.ts` no longer matches it (`make api-types`)."""

import subprocess
from pathlib import Path

import orjson
import pytest

from trackboard.server.app import create_app
from trackboard.server.config import Settings

DASHBOARD = Path(__file__).resolve().parents[2] / "dashboard"
GENERATOR = DASHBOARD / "node_modules" / ".bin" / "openapi-typescript"
COMMITTED = DASHBOARD / "src" / "api" / "schema.d.ts"


def test_the_dashboards_api_types_match_the_openapi_document(tmp_path: Path) -> None:
    if not GENERATOR.exists():
        pytest.fail(f"{GENERATOR} is missing: `make dashboard` installs it")
    spec = tmp_path / "openapi.json"
    spec.write_bytes(orjson.dumps(create_app(Settings(home=tmp_path)).openapi()))
    generated = tmp_path / "schema.d.ts"
    subprocess.run(
        [str(GENERATOR), str(spec), "-o", str(generated)],
        check=True,
        capture_output=True,
        timeout=120,
    )
    assert generated.read_text() == COMMITTED.read_text(), (
        "dashboard/src/api/schema.d.ts is stale: run `make api-types` and commit it"
    )
