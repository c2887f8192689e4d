"""The planner's decision: reasoning fields first, then the task and the tool.

The Plan model is built per tool set so that `tool` is an enum of the registered tool
names: the grammar compiled from it makes an unknown tool impossible to emit. At each step
of a run, `plan_schema` narrows it further to what makes sense in that state: a step already
taken cannot be taken again word for word, and at the last step only the final answer
remains. The loops a small model falls into become impossible, not just unlikely.
"""

from collections.abc import Sequence
from typing import Any, Literal

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


def plan_schema(
    tool_names: Sequence[str],
    taken: Sequence[tuple[str, str]] = (),
    *,
    only: Sequence[str] | None = None,
) -> dict[str, Any]:
    """The JSON Schema of the next plan: a tool of `only` (else of `tool_names`), and never a
    (task, tool) pair of `taken`, the steps of this run so far."""
    allowed = [t for t in tool_names if only is None or t in only] or list(tool_names)
    # closed, as the grammar of the Plan class is: no key but the four
    base = {**plan_model(allowed).model_json_schema(), "additionalProperties": False}
    blocked: dict[str, set[str]] = {}
    for task, tool in taken:
        if tool in allowed:
            blocked.setdefault(task, set()).add(tool)
    if not blocked:
        return base
    properties = base["properties"]
    fresh_task = {**properties["task"], "not": {"enum": sorted(blocked)}}
    branches = [{**base, "properties": {**properties, "task": fresh_task}}]
    for task, used in blocked.items():
        rest = [t for t in allowed if t not in used]
        if rest:
            pair = {"task": {"const": task}, "tool": {**properties["tool"], "enum": rest}}
            branches.append({**base, "properties": {**properties, **pair}})
    return {"title": base["title"], "anyOf": branches}
