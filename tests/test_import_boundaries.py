"""The client install stays light: `import trackboard` must not pull in the server stack."""

import subprocess
import sys


def test_importing_the_client_loads_neither_sqlalchemy_nor_fastapi() -> None:
    code = (
        "import sys, trackboard; "
        "heavy = [m for m in ('sqlalchemy', 'fastapi', 'trackboard.server', 'numpy') "
        "if m in sys.modules]; print(','.join(heavy))"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    )
    assert result.stdout.strip() == ""
