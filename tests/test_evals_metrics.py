"""The metrics on hand-made trajectories and ratings equal values computed by hand."""

import math

import pytest
from scipy import stats

from evals.metrics import (
    METRICS,
    Judged,
    bad_task_rate,
    completion_rate,
    estimate,
    mean_steps,
    pass_rate,
    run_metrics,
    seconds_per_request,
    tokens_per_request,
    tool_accuracy,
    welch_p,
)
from schemas.plan import PlanRecord
from schemas.rating import Rating, StepRating, TrajectoryRating
from schemas.request import Gold
from schemas.trajectory import Step, Trajectory, TrajectoryMeta


def judged(
    request_id: str,
    tools: list[str],
    status: str,
    task_scores: list[int] | None,
    answer_score: int,
    gold_tools: list[str] | None,
    tokens: tuple[int, int] = (0, 0),
    seconds: float = 0.0,
) -> Judged:
    """A trajectory taking `tools`, rated with `task_scores` (None: not rated yet)."""
    steps = [
        Step(plan=PlanRecord(context="", thoughts="", task=f"do {i}", tool=t), observation="ok")
        for i, t in enumerate(tools)
    ]
    trajectory = Trajectory(
        request_id=request_id,
        request="a request",
        steps=steps,
        answer="done" if status == "answered" else None,
        status=status,
        meta=TrajectoryMeta(planner="hand"),
        prompt_tokens=tokens[0],
        completion_tokens=tokens[1],
        seconds=seconds,
    )
    rating = None
    if task_scores is not None:
        five = Rating(explanation="", score=5)
        rating = TrajectoryRating(
            request_id=request_id,
            steps=[
                StepRating(task=Rating(explanation="", score=s), tool=five, result=five)
                for s in task_scores
            ],
            answer=Rating(explanation="", score=answer_score),
            judge="hand",
        )
    gold = Gold(tools=gold_tools) if gold_tools is not None else None
    return Judged(trajectory=trajectory, rating=rating, gold=gold)


def one_run() -> list[Judged]:
    return [
        # answered in 2 steps, both the gold tools; tasks 5 and 4; answer 5
        judged("a", ["search", "final_answer"], "answered", [5, 4], 5,
               ["search", "final_answer"], (100, 20), 2.0),
        # out of steps after 3 searches (1 of 3 gold); tasks 5, 2, 3 (two bad); answer 1
        judged("b", ["search"] * 3, "incomplete", [5, 2, 3], 1,
               ["search", "calculate", "final_answer"], (300, 60), 6.0),
        # crashed before any step: no answer, rated 1, never dropped
        judged("c", [], "failed", [], 1, ["search", "final_answer"], (0, 0), 1.0),
        # answered well but after 11 steps: passes, yet does not count as completed
        judged("d", ["calculate"] * 11, "answered", [5] * 11, 4,
               ["calculate", "final_answer"], (0, 0), 3.0),
    ]  # fmt: skip


def test_metrics_of_one_run_equal_hand_computed_values():
    run = one_run()
    assert pass_rate(run) == 2 / 4  # a and d rated ≥ 4
    assert bad_task_rate(run) == 2 / 16  # b's tasks rated 2 and 3, of 2 + 3 + 0 + 11 steps
    assert completion_rate(run) == 1 / 4  # only a: c failed, b ran out, d took 11 steps
    assert mean_steps(run) == (2 + 3 + 0 + 11) / 4
    assert tool_accuracy(run) == (2 + 1 + 0 + 1) / 16  # by position; past the gold is wrong
    assert tokens_per_request(run) == (120 + 360 + 0 + 0) / 4
    assert seconds_per_request(run) == (2 + 6 + 1 + 3) / 4
    assert set(run_metrics(run)) == {m.key for m in METRICS}


def test_failed_and_incomplete_runs_count_against_every_rate():
    run = one_run()
    only_good = [run[0]]
    assert pass_rate(run) < pass_rate(only_good) == 1.0
    assert completion_rate(run) < completion_rate(only_good) == 1.0


def test_an_unrated_trajectory_is_left_out_of_the_rated_metrics_only():
    run = one_run()
    run[1] = judged("b", ["search"] * 3, "incomplete", None, 1, ["search"])
    assert pass_rate(run) == 2 / 3  # a, c, d are rated
    assert bad_task_rate(run) == 0 / 13  # b's three steps are not rated
    assert completion_rate(run) == 1 / 4  # still out of all four requests
    assert mean_steps(run) == 4.0


def test_a_metric_with_nothing_to_measure_is_none():
    no_steps = [judged("c", [], "failed", [], 1, None)]
    assert bad_task_rate(no_steps) is None
    assert tool_accuracy(no_steps) is None  # no gold
    assert pass_rate([judged("x", [], "failed", None, 1, None)]) is None
    assert pass_rate([]) is None and completion_rate([]) is None


def test_estimate_is_mean_and_standard_error_over_the_runs_that_measured():
    e = estimate([0.5, 0.7, None])
    assert e.mean == pytest.approx(0.6)
    assert e.se == pytest.approx(0.1)  # s = √(0.02 / 1), divided by √2
    assert e.values == [0.5, 0.7]
    assert estimate([0.5]).se is None
    assert estimate([None]).mean is None


def test_welch_p_equals_the_t_distribution_at_welchs_t_and_df():
    a, b = [0.5, 0.6, 0.7], [0.1, 0.2, 0.1]
    va, vb = 0.01 / 3, (1 / 300) / 3  # sample variances over n
    t = (0.6 - 0.4 / 3) / math.sqrt(va + vb)
    df = (va + vb) ** 2 / (va**2 / 2 + vb**2 / 2)
    assert welch_p(a, b) == pytest.approx(2 * stats.t.sf(t, df))
    assert welch_p(a, b) < 0.01


def test_welch_p_is_none_where_undefined_and_zero_for_constant_different_runs():
    assert welch_p([0.5], [0.1, 0.2]) is None
    assert welch_p([1.0, 1.0], [1.0, 1.0]) is None
    assert welch_p([1.0, 1.0, 1.0], [0.0, 0.0, 0.0]) == 0.0
