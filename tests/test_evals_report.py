"""Summaries and reports of a run folder written by hand: a user's requests without gold,
a model judge's ratings, an unfinished run; every figure is checked against the records."""

from pathlib import Path

import pytest

from evals.report import NONE, comparison_table, markdown, write_report
from evals.request_sets import load_request_set
from evals.store import EvalConfig, RatingRecord, RunStore, TrajectoryRecord
from evals.summary import compare, summarize
from schemas.plan import PlanRecord
from schemas.rating import Rating, StepRating, TrajectoryRating
from schemas.trajectory import Step, Trajectory, TrajectoryMeta

FIVE, ONE = Rating(explanation="", score=5), Rating(explanation="", score=1)


def record(planner: str, run: int, request_id: str, answered: bool) -> TrajectoryRecord:
    step = Step(
        plan=PlanRecord(context="", thoughts="", task="answer", tool="final_answer"),
        observation="4",
    )
    trajectory = Trajectory(
        request_id=request_id,
        request="?",
        steps=[step] if answered else [],
        answer="4" if answered else None,
        status="answered" if answered else "failed",
        reason=None if answered else "crashed: RuntimeError: boom",
        meta=TrajectoryMeta(planner=planner, run=run),
        prompt_tokens=90,
        completion_tokens=10,
        seconds=2.0,
    )
    return TrajectoryRecord(planner=planner, run=run, trajectory=trajectory)


def rating(trajectory: TrajectoryRecord) -> RatingRecord:
    good = trajectory.trajectory.status == "answered"
    steps = [StepRating(task=FIVE, tool=FIVE, result=FIVE)] * len(trajectory.trajectory.steps)
    judged = TrajectoryRating(
        request_id=trajectory.trajectory.request_id,
        steps=steps,
        answer=FIVE if good else ONE,
        judge="llm:some-judge",
    )
    return RatingRecord(planner=trajectory.planner, run=trajectory.run, rating=judged)


@pytest.fixture
def folder(tmp_path) -> Path:
    requests = tmp_path / "mine.jsonl"
    requests.write_text("".join(f'{{"id": "q{i}", "text": "What is 2 + 2?"}}\n' for i in range(4)))
    request_set = load_request_set(str(requests))
    config = EvalConfig(requests=request_set.spec, world="llm", judge="some-judge")
    store = RunStore.create_or_continue(tmp_path / "run", config, request_set)
    answered = {  # (planner, run) → which of q0..q3 were answered
        ("good", 0): [1, 1, 1, 1], ("good", 1): [1, 1, 1, 0],
        ("poor", 0): [1, 0, 0, 0], ("poor", 1): [0, 0, 0],  # run 1 was interrupted after q2
    }  # fmt: skip
    for (planner, run), outcomes in answered.items():
        for i, ok in enumerate(outcomes):
            store.add_trajectory(made := record(planner, run, f"q{i}", bool(ok)))
            if (planner, run, i) != ("poor", 1, 2):  # the judge failed on this one
                store.add_rating(rating(made))
    return store.root


def test_the_summary_accounts_for_every_request_and_run(folder):
    good, poor = summarize(folder).find("good"), summarize(folder).find("poor")
    assert good.metrics["pass_rate"].values == [1.0, 0.75]
    assert good.metrics["completion_rate"].values == [1.0, 0.75]
    assert good.statuses == {"answered": 7, "failed": 1} and good.failures == [
        "q3: crashed: RuntimeError: boom"
    ]
    assert poor.metrics["pass_rate"].values == [0.25, 0.0]  # run 1: q0, q1 rated, both failed
    assert poor.metrics["completion_rate"].values == [0.25, 0.0]
    assert (poor.runs, poor.trajectories, poor.missing, poor.unrated) == (2, 7, 1, 1)
    assert good.metrics["tool_accuracy"].mean is None  # a user's requests have no gold
    assert good.metrics["tokens_per_request"].values == [100.0, 100.0]


def test_the_report_shows_dashes_for_what_was_not_measured_and_notes_the_gaps(folder, tmp_path):
    files = write_report(folder, tmp_path / "report")
    text = files.markdown.read_text()
    assert "| good | 2 | 4 | 0.88 ± 0.12 |" in text and "| poor | 2 | 4 | 0.12 ± 0.12 |" in text
    assert f"| {NONE} |" in text  # tool accuracy
    assert "- poor: 1 (run, request) pairs not run yet" in text
    assert "- poor: 1 trajectories not rated yet" in text
    assert files.plot.read_bytes().startswith(b"\x89PNG")
    assert text == markdown(summarize(folder))


def test_the_comparison_table_has_a_p_value_per_metric(folder):
    table = comparison_table(compare(summarize(folder), "good", "poor"))
    lines = table.splitlines()
    assert lines[0] == "| metric | good | poor | p (Welch) |"
    assert len(lines) == 2 + 7
    assert lines[2].startswith("| pass rate | 0.88 ± 0.12 | 0.12 ± 0.12 | 0.0")


def test_pass_rates_per_shape_keep_the_held_out_shape_apart(tmp_path):
    shapes = ["lookup", "lookup", "difference", "sum"]  # difference: held out of training
    requests = tmp_path / "shaped.jsonl"
    requests.write_text(
        "".join(f'{{"id": "q{i}", "text": "?", "shape": "{s}"}}\n' for i, s in enumerate(shapes))
    )
    request_set = load_request_set(str(requests))
    config = EvalConfig(requests=request_set.spec, world="llm", judge="some-judge")
    store = RunStore.create_or_continue(tmp_path / "run", config, request_set)
    for run, outcomes in enumerate([[1, 0, 0, 1], [1, 1, 0, 0]]):
        for i, ok in enumerate(outcomes):
            store.add_trajectory(made := record("ft", run, f"q{i}", bool(ok)))
            store.add_rating(rating(made))
    series = summarize(store.root).find("ft")
    assert series.pass_by_shape["lookup"].values == [0.5, 1.0]
    assert series.pass_by_shape["difference"].values == [0.0, 0.0]
    assert series.pass_trained_shapes.values == [2 / 3, 2 / 3]  # q2 left out
    text = markdown(summarize(store.root))
    assert "| difference (held-out shape) | 0.00 ± 0.00 |" in text
    assert "| **trained shapes** | 0.67 ± 0.00 |" in text
