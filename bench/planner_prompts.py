"""Planner prompts for the benches, as the agent sends them: atlas requests at each step of
their gold solution, rendered by the zero-shot and the fine-tuned planner themselves
(`ModelPlanner.messages`), with the plan schema each step gets (`ModelPlanner.schema`).

Imported by the bench scripts (they put the repository on the path first).
"""

from dataclasses import dataclass
from itertools import cycle

from models.chat_model import ChatModel, Schema
from planner.model_planner import FineTunedPlanner, ModelPlanner, ZeroShotPlanner
from schemas.chat import Message
from schemas.trajectory import Scratchpad, Step
from tools.atlas.requests import atlas_requests
from tools.atlas.tools import atlas_tools
from tools.atlas.world import build_world

WORLD_SEED = 7001  # a world of its own: no training request shares its entities


@dataclass(frozen=True)
class PlannerPrompt:
    planner: str
    messages: list[Message]
    schema: Schema


def planners(model: ChatModel) -> list[ModelPlanner]:
    tools = atlas_tools(build_world(WORLD_SEED))
    return [ZeroShotPlanner(model, tools), FineTunedPlanner(model, tools)]


def planner_prompts(model: ChatModel, count: int) -> list[PlannerPrompt]:
    """`count` prompts, the two planners in turn, each request at every step of its solution
    (an observation is the fact the gold step learned)."""
    world = build_world(WORLD_SEED)
    prompts: list[PlannerPrompt] = []
    turn = cycle(planners(model))
    for request in atlas_requests(world, count, "all"):
        steps: list[Step] = []
        for plan, gold in zip(request.plans(), request.solution, strict=True):
            planner, pad = next(turn), Scratchpad(steps=list(steps))
            messages = planner.messages(request.text, pad, request.history)
            prompts.append(PlannerPrompt(planner.name, messages, planner.schema(pad, None)))
            steps.append(Step(plan=plan, observation=gold.learned or "done"))
            if len(prompts) == count:
                return prompts
    return prompts
