"""Simulated tools: a teacher model plays a tool, the way the reference simulation did.

For learning to plan, what matters is deciding well on whatever comes back, so the teacher
invents plausible results. It is told to answer fully, partly, or not at all, with
configurable probabilities (0.1 each by default), so the planner also meets the gaps and
failures real tools have. The draw is a hash of (seed, tool, request, task): a rerun of the
same simulation sees the same outcomes, whatever the thread that runs it.
"""

import hashlib
from typing import Literal

from pydantic import BaseModel, Field

from models.chat_model import ChatModel
from schemas.chat import system
from schemas.errors import WaypointError
from schemas.trajectory import Scratchpad
from tools.base import Observation, Tool
from tools.calculate import Calculate
from tools.final_answer import FinalAnswer
from tools.function_calling import context_message, structured
from tools.registry import TOOLS, tool_class

Outcome = Literal["full", "partial", "none"]

SIMULATE_SYSTEM = """\
You play the tool `{name}` of an agent: {description}
Given the user's request, the results so far and the task, reply with the result the
tool returns, as the tool itself would phrase it. {outcome}"""

OUTCOMES: dict[Outcome, str] = {
    "full": "Give the complete result. Invent specific, plausible facts where you need them.",
    "partial": "Give only part of what the task asks for: leave out at least one detail.",
    "none": "The tool found nothing or could not do it: say so in one short sentence.",
}


class SimulatedResult(BaseModel):
    result: str = Field(min_length=1, max_length=400, description="what the tool returns")


class SimulatedTool(Tool):
    def __init__(
        self,
        name: str,
        description: str,
        model: ChatModel,
        *,
        no_answer: float = 0.1,
        partial: float = 0.1,
        seed: int = 0,
        max_tokens: int = 160,
    ) -> None:
        if min(no_answer, partial) < 0 or no_answer + partial > 1:
            raise WaypointError(
                f"no_answer ({no_answer}) and partial ({partial}) must be probabilities "
                "that add up to at most 1"
            )
        self.name, self.description = name, description  # type: ignore[misc]
        self.model, self.seed, self.max_tokens = model, seed, max_tokens
        self.no_answer, self.partial = no_answer, partial

    def outcome(self, request: str, task: str) -> Outcome:
        digest = hashlib.sha256(f"{self.seed}\0{self.name}\0{request}\0{task}".encode()).digest()
        draw = int.from_bytes(digest[:8], "big") / 2**64
        if draw < self.no_answer:
            return "none"
        return "partial" if draw < self.no_answer + self.partial else "full"

    def run(self, request: str, task: str, scratchpad: Scratchpad) -> Observation:
        instructions = SIMULATE_SYSTEM.format(
            name=self.name,
            description=self.description,
            outcome=OUTCOMES[self.outcome(request, task)],
        )
        messages = [system(instructions), context_message(request, task, scratchpad)]
        reply = structured(self.model, SimulatedResult, messages, max_tokens=self.max_tokens)
        return Observation(text=reply.result)


def simulated_tools(
    model: ChatModel, *, no_answer: float = 0.1, partial: float = 0.1, seed: int = 0
) -> list[Tool]:
    """The registry's tool set, each played by `model`; calculate and final_answer are the
    real tools (they need no outside world; calculate asks `model` for an expression the
    task does not spell out)."""
    tools: list[Tool] = []
    for name in TOOLS:
        if name == "calculate":
            tools.append(Calculate(model))
        elif name == "final_answer":
            tools.append(FinalAnswer())
        else:
            description = tool_class(name).description
            tools.append(
                SimulatedTool(
                    name, description, model, no_answer=no_answer, partial=partial, seed=seed
                )
            )
    return tools
