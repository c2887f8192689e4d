"""What a fine-tuned planner did on a training request, step by step, against the gold
plan of each state (seed 000, KnowSelf): the source of preference pairs and of the
situation labels a self-aware planner learns from.

The run follows the gold path: where the planner's own plan was right it is kept, where it
was wrong the gold plan is taken instead, so every later state is one the expert could be
in and has a gold plan. Each step is labelled by its situation:
- act: the planner's own plan was right;
- reflect: it was wrong, but a second try (with the first ruled out by the grammar) was
  right: the planner had the answer and needed a self-check;
- consult: both were wrong: the planner lacked knowledge.
"""

from pydantic import BaseModel, Field

from schemas.awareness import Mode
from schemas.plan import PlanRecord
from schemas.trajectory import Exchange, Step


class ExploredStep(BaseModel):
    situation: Mode
    own: PlanRecord = Field(description="the planner's plan")
    gold: PlanRecord = Field(description="the expert's plan for the same state")
    retry: PlanRecord | None = Field(None, description="the second try, when the first was wrong")
    reason: str = Field("", description="why the planner's plan was wrong, as the judge says")


class Exploration(BaseModel):
    request_id: str
    request: str
    history: list[Exchange] = Field(default_factory=list)
    planner: str = Field(description="the explored planner's model")
    steps: list[Step] = Field(description="the path taken: own plans where right, else gold")
    explored: list[ExploredStep] = Field(description="one per step of the path")

    def mistakes(self) -> list[int]:
        """The steps where the planner's own plan was wrong."""
        return [i for i, e in enumerate(self.explored) if e.situation != "act"]
