"""`trackboard import wandb`: an offline run written by wandb itself (WANDB_MODE=offline, no
network) comes back with its config, tags, history and status; a second import adds
nothing."""

import os
import subprocess
import sys
import textwrap
from pathlib import Path

from typer.testing import CliRunner

import trackboard
from trackboard.cli.main import app as cli

WRITE_OFFLINE_RUN = textwrap.dedent(
    """
    import sys, wandb
    run = wandb.init(project="wb-import", name="tiny", dir=sys.argv[1], tags=["smoke"],
                     config={"lr": 0.1, "optimizer": {"name": "sgd", "momentum": 0.9}})
    for step in range(30):
        run.log({"loss": 1.0 / (step + 1), "acc/top1": step / 30})
    run.log({"eval/loss": 0.25}, step=40)
    run.finish()
    """
)


def _write_offline_run(folder: Path) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("WANDB_")}
    env.update(WANDB_MODE="offline", WANDB_SILENT="true", WANDB_DISABLE_GIT="true")
    subprocess.run(
        [sys.executable, "-c", WRITE_OFFLINE_RUN, str(folder)],
        env=env,
        check=True,
        timeout=180,
        capture_output=True,
    )


def _import(folder: Path, server_url: str) -> str:
    result = CliRunner().invoke(cli, ["import", "wandb", str(folder), "--to", server_url])
    assert result.exit_code == 0, result.output
    return result.output


def test_an_offline_run_comes_back_with_config_history_and_status(
    server_url: str, tmp_path: Path
) -> None:
    _write_offline_run(tmp_path)
    assert list(tmp_path.glob("wandb/offline-run-*/run-*.wandb"))
    output = _import(tmp_path / "wandb", server_url)
    assert "runs         1 (1 new)" in output
    with trackboard.Api(server_url) as api:
        (run,) = api.runs("wb-import")
        assert run.name == "tiny"
        assert run.status == "FINISHED"
        assert run.params["lr"] == "0.1"
        assert run.params["optimizer.momentum"] == "0.9"
        assert run.tags["wandb.tag.smoke"] == "true"
        loss = api.history(run.id, "loss")
        assert loss.steps == list(range(30))
        assert loss.values == [1.0 / (step + 1) for step in range(30)]
        assert api.history(run.id, "acc/top1").values == [step / 30 for step in range(30)]
        assert api.history(run.id, "eval/loss").steps == [40]
        assert run.end_time is not None
        assert run.end_time >= max(loss.timestamps)
    assert "61 sent" in output

    again = _import(tmp_path / "wandb", server_url)
    assert "(0 new)" in again
    assert "0 sent (0 points/s), 61 already there" in again
