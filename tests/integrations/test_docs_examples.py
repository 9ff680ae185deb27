"""Every example of docs/integrations.md runs, as written, against a real server, and
leaves the finished run(s) it promises."""

import re
from pathlib import Path

import pytest

from tests.integrations.conftest import experiment_runs, finished_run

DOC = Path(__file__).resolve().parents[2] / "docs" / "integrations.md"
# Heading of each framework's section, the experiment its example logs to, and its runs.
EXAMPLES = [
    ("PyTorch Lightning", "docs-lightning", 1),
    ("Hugging Face Transformers", "docs-transformers", 1),
    ("Keras 3", "docs-keras", 1),
    ("XGBoost", "docs-xgboost", 1),
    ("LightGBM", "docs-lightgbm", 1),
    ("Optuna", "docs-optuna", 5),
    ("scikit-learn", "docs-sklearn", 1),
]


def example_code(heading: str) -> str:
    """The Python block of the section `## <heading>`."""
    text = DOC.read_text()
    section = text[text.index(f"\n## {heading}\n") :]
    section = section[: section.find("\n## ", 1)] if "\n## " in section[1:] else section
    block = re.search(r"```python\n(.*?)```", section, re.DOTALL)
    assert block is not None, f"docs/integrations.md has no Python block under {heading!r}"
    return block.group(1)


def test_every_framework_has_an_example() -> None:
    headings = re.findall(r"^## (.+)$", DOC.read_text(), re.MULTILINE)
    documented = [h for h in headings if not h.startswith("Importing")]
    assert sorted(documented) == sorted(e[0] for e in EXAMPLES)


# The frameworks' own warnings (small data loaders, deprecations inside them) are theirs.
@pytest.mark.filterwarnings("ignore::UserWarning", "ignore::DeprecationWarning")
@pytest.mark.filterwarnings("ignore::FutureWarning")
@pytest.mark.parametrize(("heading", "experiment", "runs"), EXAMPLES, ids=[e[1] for e in EXAMPLES])
def test_the_example_logs_finished_runs(
    heading: str,
    experiment: str,
    runs: int,
    server_url: str,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.chdir(tmp_path)  # examples may write output folders
    # The Transformers example sets it in os.environ: setting it through monkeypatch first
    # makes monkeypatch remove it again afterwards (a bare delenv of an unset variable
    # records nothing to undo).
    monkeypatch.setenv("TRACKBOARD_EXPERIMENT", "")
    monkeypatch.delenv("TRACKBOARD_EXPERIMENT")
    exec(compile(example_code(heading), f"docs/integrations.md#{experiment}", "exec"), {})
    found = experiment_runs(server_url, experiment)
    assert len(found) == runs
    for run in found:
        assert finished_run(server_url, run.id).status == "FINISHED"
        assert run.params, run
        assert run.metrics, run
