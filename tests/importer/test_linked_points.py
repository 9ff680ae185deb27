"""Splitting a run's history into points linked to a model and the rest, given what the
target already holds (no servers: the plan alone)."""

import math

from trackboard.importer.linked_points import LinkedPoint, identity, links_there, plan_key
from trackboard.importer.records import MetricSeries, ModelMetric

MODEL = "m-" + "0" * 32
RUN = "r" * 32


def history(values: list[float]) -> MetricSeries:
    """`loss` at steps 0.. and timestamps 100.., one value each."""
    steps = list(range(len(values)))
    return MetricSeries("loss", steps, [100 + s for s in steps], values)


def linked(step: int, value: float, dataset: str = "") -> LinkedPoint:
    metric = ModelMetric("loss", value, 100 + step, step, RUN, dataset, "d1" if dataset else "")
    return LinkedPoint(MODEL, metric)


def test_a_new_run_sends_linked_points_once_and_the_rest_through_v1() -> None:
    series = history([0.5, 0.4, 0.3, 0.2])
    plan = plan_key(series, [linked(1, 0.4, "train"), linked(3, 0.2)], set(), 0)
    assert [(p.metric.step, p.metric.value) for p in plan.linked] == [(1, 0.4), (3, 0.2)]
    assert (plan.unlinked.steps, plan.unlinked.values) == ([0, 2], [0.5, 0.3])
    assert (plan.unlinked_there, plan.left_unlinked) == (0, 0)


def test_a_second_import_sends_nothing() -> None:
    series = history([0.5, 0.4, 0.3])
    point = linked(1, 0.4, "train")
    plan = plan_key(series, [point], {point.link}, 3)
    assert plan.linked == []
    assert plan.unlinked_there == len(plan.unlinked) == 2


def test_an_import_stopped_after_the_linked_points_sends_only_the_rest() -> None:
    series = history([0.5, 0.4, 0.3, 0.2])
    point = linked(2, 0.3)
    # The target has the linked point (in the model and the run) and one point before it.
    plan = plan_key(series, [point], {point.link}, 2)
    assert plan.linked == []
    assert plan.unlinked.steps == [0, 1, 3]
    assert plan.unlinked_there == 1  # the next import sends steps 1 and 3


def test_points_imported_without_their_link_are_not_sent_again() -> None:
    series = history([0.5, 0.4])
    plan = plan_key(series, [linked(1, 0.4)], set(), 2)  # all there, none linked
    assert (plan.linked, plan.unlinked_there, plan.left_unlinked) == ([], 1, 1)


def test_a_model_value_is_sent_as_the_run_history_has_it() -> None:
    """MLflow's SQL store reads a model's NaN back as 0; its file store writes a point
    linked with a dataset into the history at step 0."""
    series = MetricSeries("loss", [0, 0], [100, 101], [math.nan, 0.7])
    plan = plan_key(series, [linked(0, 0.0), linked(1, 0.7, "train")], set(), 0)
    sent = [(p.metric.step, p.metric.timestamp, p.metric.value) for p in plan.linked]
    assert sent[1] == (0, 101, 0.7)
    assert (sent[0][:2], math.isnan(sent[0][2])) == ((0, 100), True)
    assert len(plan.unlinked) == 0


def test_links_there_reads_the_targets_model_json() -> None:
    model = {
        "info": {"model_id": MODEL},
        "data": {
            "metrics": [
                {"key": "loss", "value": "NaN", "timestamp": 100, "step": 0, "model_id": MODEL}
                | {"run_id": RUN, "dataset_name": "train", "dataset_digest": "d1"}
            ]
        },
    }
    assert links_there([model]) == {
        RUN: {(MODEL, "train", "d1", identity("loss", 0, 100, math.nan))}
    }
