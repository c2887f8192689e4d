"""The whole loop on the bundled model, offline: real planner, real tools, real grammar.

The 135M model plans poorly without fine-tuning, so these tests assert structure and
behaviour (plans validate, chosen tools run, the run ends honestly), not the answer.
"""

import pytest

from planner.agent import Agent
from planner.model_planner import FineTunedPlanner, ZeroShotPlanner
from schemas.plan import CONTEXT_MAX, TASK_MAX, THOUGHTS_MAX
from schemas.trajectory import Trajectory
from tools.context import ToolContext
from tools.registry import load_tools

MAX_STEPS = 3


def check_run(trajectory: Trajectory, events: list, tool_names: list[str]) -> None:
    steps = trajectory.steps
    assert 1 <= len(steps) <= MAX_STEPS
    for step in steps:
        assert step.plan.tool in tool_names  # the grammar admits only registered tools
        assert len(step.plan.context) <= CONTEXT_MAX and len(step.plan.thoughts) <= THOUGHTS_MAX
        assert 0 < len(step.plan.task) <= TASK_MAX
        assert step.observation.strip()
    kinds = [e.kind for e in events]
    assert kinds[0] == "run_started" and kinds[-1] == "run_finished"
    assert kinds.count("plan_made") == kinds.count("tool_started") == len(steps)
    # every chosen tool ran, in order, and its result is the step's observation
    started = [(e.step, e.tool) for e in events if e.kind == "tool_started"]
    finished = [(e.step, e.tool, e.observation) for e in events if e.kind == "tool_finished"]
    assert started == [(i, s.plan.tool) for i, s in enumerate(steps, 1)]
    assert finished == [(i, s.plan.tool, s.observation) for i, s in enumerate(steps, 1)]
    if trajectory.status == "answered":
        assert trajectory.answer and trajectory.answer == steps[-1].observation
        assert finished[-1] and events[-2].kind == "answered"
    else:
        assert trajectory.status == "incomplete" and trajectory.answer is None
        assert len(steps) == MAX_STEPS and "3 steps" in trajectory.reason


@pytest.mark.parametrize("planner_class", [ZeroShotPlanner, FineTunedPlanner])
def test_the_agent_runs_a_request_end_to_end(chat_model, tmp_path, planner_class):
    context = ToolContext(model=chat_model, home=tmp_path, ask=lambda q: "I have no idea.")
    tools = load_tools(context)
    agent = Agent(planner_class(chat_model, tools), tools, max_steps=MAX_STEPS)
    events: list = []
    agent.subscribe(events.append)
    trajectory = agent.run("What is 17 * 23?", request_id="e2e")
    check_run(trajectory, events, [t.name for t in tools])
    assert trajectory.meta.planner == planner_class.name and trajectory.meta.model
    assert trajectory.prompt_tokens > 0 and trajectory.completion_tokens > 0
    assert Trajectory.model_validate_json(trajectory.model_dump_json()) == trajectory
