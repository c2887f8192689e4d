"""A run of the agent on one request: the typed record used by chat, evals and training."""

from collections.abc import Sequence
from typing import Literal

from pydantic import BaseModel, Field

from schemas.awareness import Awareness
from schemas.plan import PlanRecord


class Step(BaseModel):
    plan: PlanRecord
    observation: str
    error: str | None = Field(None, description="set when the tool raised; the text is the error")
    awareness: Awareness | None = Field(None, description="a self-aware planner's mode")


class Exchange(BaseModel):
    """An earlier turn of the same conversation."""

    request: str
    answer: str | None


class Scratchpad(BaseModel):
    """The steps taken so far for the current request, as tools and prompts see them."""

    steps: list[Step] = Field(default_factory=list)

    def results(self) -> list[str]:
        """The observations of the steps whose tool did not fail."""
        return [s.observation for s in self.steps if not s.error]

    def render(self) -> str:
        if not self.steps:
            return "(no steps yet)"
        return "\n".join(
            f"{i}. task: {s.plan.task}\n   tool: {s.plan.tool}\n   result: {s.observation}"
            for i, s in enumerate(self.steps, 1)
        )


Status = Literal["answered", "incomplete", "failed"]


def texts_read(request: str, scratchpad: Scratchpad, history: Sequence[Exchange] = ()) -> list[str]:
    """Everything a run has read so far: the request, the steps' results and the earlier
    turns of the conversation."""
    texts = [request, *(s.observation for s in scratchpad.steps)]
    return texts + [t for exchange in history for t in (exchange.request, exchange.answer or "")]


class TrajectoryMeta(BaseModel):
    planner: str
    model: str | None = None
    seed: int | None = None
    world: str | None = None
    run: int | None = None


class Trajectory(BaseModel):
    request_id: str
    request: str
    history: list[Exchange] = Field(default_factory=list)
    steps: list[Step] = Field(default_factory=list)
    answer: str | None = None
    status: Status = "incomplete"
    reason: str | None = Field(None, description="why the run is incomplete or failed")
    meta: TrajectoryMeta
    prompt_tokens: int = 0
    completion_tokens: int = 0
    seconds: float = 0.0
