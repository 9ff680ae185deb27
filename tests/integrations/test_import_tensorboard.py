"""`trackboard import tensorboard`: logs written by tensorboardX come back exactly (every
scalar's step, value and wall time, to the millisecond the store keeps), hparams become
params, and a second import adds nothing."""

from pathlib import Path

from tensorboard.backend.event_processing.event_accumulator import EventAccumulator
from tensorboardX import SummaryWriter
from typer.testing import CliRunner

import trackboard
from trackboard.cli.main import app as cli


def _write_logs(logdir: Path) -> None:
    with SummaryWriter(logdir=str(logdir / "baseline")) as writer:
        for step in range(20):
            writer.add_scalar("loss/train", 1.0 / (step + 1), step)
            writer.add_scalar("lr", 0.1 * 0.9**step, step)
        writer.add_scalar("loss/train", float("nan"), 20)
    with SummaryWriter(logdir=str(logdir / "wide")) as writer:
        for step in range(0, 50, 5):
            writer.add_scalar("accuracy (top-1)", step / 50, step)
        writer.add_hparams({"lr": 0.01, "layers": 3, "optimizer": "adam"}, {"hparam/acc": 0.9})


def _scalars(folder: Path) -> dict[str, list[tuple[int, int, float]]]:
    """What TensorBoard itself reads from a folder: (step, wall time in ms, value) by tag."""
    accumulator = EventAccumulator(str(folder), size_guidance={"scalars": 0})
    accumulator.Reload()
    return {
        tag: [(e.step, round(e.wall_time * 1000), e.value) for e in accumulator.Scalars(tag)]
        for tag in accumulator.Tags()["scalars"]
    }


def _import(logdir: Path, server_url: str, experiment: str) -> str:
    result = CliRunner().invoke(
        cli, ["import", "tensorboard", str(logdir), "--experiment", experiment, "--to", server_url]
    )
    assert result.exit_code == 0, result.output
    return result.output


def _same(a: float, b: float) -> bool:
    return a == b or (a != a and b != b)


def test_every_scalar_comes_back_exactly_and_a_second_import_adds_nothing(
    server_url: str, tmp_path: Path
) -> None:
    logdir = tmp_path / "logs"
    _write_logs(logdir)
    output = _import(logdir, server_url, "tb-import")
    assert "runs         3 (3 new)" in output  # baseline, wide, and wide's hparams folder
    with trackboard.Api(server_url) as api:
        runs = {run.name: run for run in api.runs("tb-import")}
        expected_points = 0
        for folder in sorted({p.parent for p in logdir.rglob("*tfevents*")}):
            name = folder.relative_to(logdir).as_posix()
            run = runs[name]
            assert run.status == "FINISHED"
            for tag, points in _scalars(folder).items():
                key = tag.replace("(", "_").replace(")", "_")
                history = api.history(run.id, key)
                stored = list(zip(history.steps, history.timestamps, history.values, strict=True))
                assert len(stored) == len(points), tag
                for got, want in zip(
                    stored, sorted(points, key=lambda p: (p[1], p[0])), strict=True
                ):
                    assert got[:2] == want[:2], (tag, got, want)
                    assert _same(got[2], want[2]), (tag, got, want)
                expected_points += len(points)
        hparams_run = next(r for n, r in runs.items() if n.startswith("wide/"))
        assert hparams_run.params == {"lr": "0.01", "layers": "3", "optimizer": "adam"}
    assert f"{expected_points:,} sent" in output

    again = _import(logdir, server_url, "tb-import")
    assert "(0 new)" in again
    assert f"0 sent (0 points/s), {expected_points:,} already there" in again
