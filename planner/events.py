"""What an agent run reports while it happens, for a UI or a logger to subscribe to.

Every event is a Pydantic model with a `kind`, so a subscriber can print it, match on its
type, or write it as JSON.
"""

from collections.abc import Callable
from typing import Literal

from pydantic import BaseModel

from schemas.plan import PlanRecord
from schemas.trajectory import Trajectory


class RunStarted(BaseModel):
    kind: Literal["run_started"] = "run_started"
    request_id: str
    request: str


class PlanMade(BaseModel):
    kind: Literal["plan_made"] = "plan_made"
    step: int
    plan: PlanRecord


class ToolStarted(BaseModel):
    kind: Literal["tool_started"] = "tool_started"
    step: int
    tool: str
    task: str


class ToolFinished(BaseModel):
    kind: Literal["tool_finished"] = "tool_finished"
    step: int
    tool: str
    observation: str
    error: str | None = None
    final: bool = False


class Answered(BaseModel):
    kind: Literal["answered"] = "answered"
    answer: str


class RunFinished(BaseModel):
    """The last event of every run, whatever its status."""

    kind: Literal["run_finished"] = "run_finished"
    trajectory: Trajectory


Event = RunStarted | PlanMade | ToolStarted | ToolFinished | Answered | RunFinished
Subscriber = Callable[[Event], None]
