"""The teacher-LLM path against llama-cpp-python's server with the bundled model: requests,
trajectories and ratings come out and validate (a 135M teacher says nothing of quality)."""

import pytest

from finetune.judging import judge_trajectories
from finetune.requests import generate_requests
from finetune.simulation import make_agent, make_judge, tool_names
from finetune.teacher import teacher_plan_model
from finetune.trajectories import generate_trajectories
from models.openai_compat import OpenAIChatModel
from schemas.rating import TrajectoryRating
from schemas.records import read_records
from schemas.request import Request
from schemas.trajectory import Trajectory
from tools.simulated import SimulatedTool


@pytest.fixture(scope="module")
def teacher(llamacpp_server):
    return OpenAIChatModel(llamacpp_server, "smollm2-135m", grammar_mode="gbnf")


def test_teacher_requests_trajectories_and_ratings_validate(teacher, tmp_path):
    requests_path = tmp_path / "requests.jsonl"
    requests = generate_requests(
        teacher, 1, requests_path, seed=1, batch_size=1, max_similarity=0.99, max_rounds=8
    )
    assert len(requests) == 1
    assert [r.id for r in read_records(requests_path, Request)] == [r.id for r in requests]
    assert all(r.source == "teacher" and r.shape in ("single-step", "multi-step") for r in requests)

    agent, meta = make_agent("llm", requests, teacher, max_steps=1, seed=1)
    trajectories_path = tmp_path / "trajectories.jsonl"
    summary = generate_trajectories(
        requests, agent, trajectories_path, meta, workers=2, show_progress=False
    )
    trajectories = read_records(trajectories_path, Trajectory)
    assert summary.written == len(trajectories) == 1
    for trajectory in trajectories:
        assert trajectory.meta.world == "llm" and trajectory.meta.model == teacher.name
        # the teacher planned its one step (under its grammar a plan always parses)
        assert trajectory.status != "failed" and len(trajectory.steps) == 1, trajectory.reason
        assert trajectory.steps[0].plan.tool in tool_names("llm")

    ratings_path = tmp_path / "ratings.jsonl"
    by_id = {r.id: r for r in requests}
    judge_trajectories(
        trajectories, by_id, make_judge("llm", teacher), ratings_path, show_progress=False
    )
    ratings = read_records(ratings_path, TrajectoryRating)
    assert {r.request_id for r in ratings} == set(by_id)  # the judge's output validated
    for rating in ratings:
        steps = next(t for t in trajectories if t.request_id == rating.request_id).steps
        assert len(rating.steps) == len(steps)
        assert rating.judge == f"llm:{teacher.name}"


def test_a_simulated_tool_draws_its_outcomes_at_the_configured_rates():
    tool = SimulatedTool("search_internet", "Searches.", model=None, no_answer=0.1, partial=0.1)  # type: ignore[arg-type]
    outcomes = [tool.outcome("request", f"task {i}") for i in range(4000)]
    assert 0.08 < outcomes.count("none") / len(outcomes) < 0.12
    assert 0.08 < outcomes.count("partial") / len(outcomes) < 0.12
    assert tool.outcome("request", "task 7") == tool.outcome("request", "task 7")


def test_the_teacher_plan_restates_the_request_before_the_planner_fields():
    fields = list(teacher_plan_model(["search", "final_answer"]).model_fields)
    assert fields == ["request", "missing", "context", "thoughts", "task", "tool"]
