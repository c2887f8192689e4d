"""The planner's decision: reasoning fields first, then the task and the tool.

The Plan model is built per tool set so that `tool` is an enum of the registered tool
names: the grammar compiled from it makes an unknown tool impossible to emit.
"""

from collections.abc import Sequence
from typing import Literal

from pydantic import BaseModel, Field, create_model

# Bounds keep every string finite under the grammar; a planner never needs more.
CONTEXT_MAX = 300
THOUGHTS_MAX = 200
TASK_MAX = 200


class PlanRecord(BaseModel):
    """A plan as stored in a trajectory: the same fields as a Plan, with the tool as text."""

    context: str = Field(max_length=CONTEXT_MAX, description="what is known so far, in brief")
    thoughts: str = Field(max_length=THOUGHTS_MAX, description="what is still needed and why")
    task: str = Field(max_length=TASK_MAX, description="the next step, in plain words")
    tool: str


def plan_model(tool_names: Sequence[str]) -> type[PlanRecord]:
    """A Plan class whose `tool` field admits exactly `tool_names`, in that order."""
    if not tool_names:
        raise ValueError("a plan needs at least one tool")
    tool_type = Literal[tuple(tool_names)]  # type: ignore[valid-type]
    return create_model(
        "Plan",
        __base__=PlanRecord,
        tool=(tool_type, Field(description="the tool that carries out the task")),
    )
