"""The Planner interface: given the request and the steps so far, decide the next step."""

from abc import ABC, abstractmethod
from collections.abc import Sequence

from pydantic import BaseModel

from schemas.awareness import Awareness
from schemas.plan import PlanRecord
from schemas.trajectory import Exchange, Scratchpad


class Decision(BaseModel):
    plan: PlanRecord
    prompt_tokens: int = 0
    completion_tokens: int = 0
    awareness: Awareness | None = None  # how a self-aware planner made the plan


class Planner(ABC):
    name: str = "planner"
    model_name: str | None = None  # recorded in trajectories
    tool_names: tuple[str, ...] = ()  # the tools its plans may name; () when not fixed

    @abstractmethod
    def plan(
        self,
        request: str,
        scratchpad: Scratchpad,
        history: Sequence[Exchange] = (),
        *,
        only: Sequence[str] | None = None,
    ) -> Decision:
        """The next plan; its `tool` is always one of the planner's tools, and one of `only`
        where the run allows no other (its last step leaves only the final answer)."""
