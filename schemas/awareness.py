"""The self-aware plan: a plan that first says how it was made (seed 000, KnowSelf).

- `act`: the plan at once (fast thinking);
- `reflect`: a short self-check written before the plan (slow thinking);
- `consult`: nothing but the mode; rules retrieved from a knowledge base are shown, then
  the plan follows in mode `act` (knowledgeable thinking).

The mode is a field the grammar enforces, the first of the plan, so the planner cannot
write anything else. It is an option: the default plan (`schemas.plan`) is unchanged, and a
planner trained on it never sees a mode.
"""

from typing import Any, Literal

from pydantic import BaseModel, Field, TypeAdapter

from schemas.plan import PlanRecord

Mode = Literal["act", "reflect", "consult"]
MODES: tuple[Mode, ...] = ("act", "reflect", "consult")
CHECK_MAX = 200

_CHECK = {"type": "string", "maxLength": CHECK_MAX, "description": "what could be wrong"}
_CONSULT = {
    "type": "object",
    "properties": {"mode": {"const": "consult"}},
    "required": ["mode"],
    "additionalProperties": False,
}
_JSON = TypeAdapter(dict[str, Any])


class Awareness(BaseModel):
    """How a self-aware plan was made, kept with its step."""

    mode: Mode
    check: str | None = Field(None, description="reflect: the self-check before the plan")
    retrieved: list[str] = Field(
        default_factory=list,
        description="the rules retrieval gave for this state; shown only when consulted, and "
        "otherwise the prompt tokens that consulting only when needed saves",
    )


def self_aware_schema(plan_schema: dict[str, Any], *, consulted: bool) -> dict[str, Any]:
    """`plan_schema` (one step's plan, `schemas.plan.plan_schema`) with a mode in front: act
    or reflect, and consult unless the rules were shown already."""
    branches = plan_schema.get("anyOf", [plan_schema])

    def with_mode(branch: dict[str, Any], mode: Mode) -> dict[str, Any]:
        extra = {"check": _CHECK} if mode == "reflect" else {}
        properties = {"mode": {"const": mode}, **extra, **branch["properties"]}
        return {**branch, "properties": properties, "required": list(properties)}

    modes: list[Mode] = ["act"] if consulted else ["act", "reflect"]
    options = [with_mode(b, mode) for mode in modes for b in branches]
    if not consulted:
        options.append(_CONSULT)
    return {"title": "SelfAwarePlan", "anyOf": options}


def aware_text(mode: Mode, plan: PlanRecord | None = None, check: str | None = None) -> str:
    """The plan as the self-aware grammar makes the model write it: compact JSON, the mode
    first (a consult is the mode alone)."""
    fields: dict[str, Any] = {"mode": mode}
    if mode == "reflect":
        fields["check"] = check or ""
    if mode != "consult":
        if plan is None:
            raise ValueError(f"a plan in mode {mode} needs its plan fields")
        fields |= PlanRecord.model_validate(plan.model_dump()).model_dump()
    return _JSON.dump_json(fields).decode()
