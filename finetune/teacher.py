"""The teacher planner of the simulation: a strong model with a richer plan.

Before the fields the fine-tuned planner writes (context, thoughts, task, tool), the
teacher restates the request and says what is still missing, which makes a large model
plan more carefully. Its plans are stored as `PlanRecord`s, so those two fields are
dropped: the dataset teaches the fine-tuned planner's own, shorter schema.
"""

from collections.abc import Sequence
from typing import Any, Literal

from pydantic import BaseModel, Field, create_model

from models.chat_model import ChatModel, Schema
from planner import prompts
from planner.model_planner import ModelPlanner
from schemas.chat import Message, system
from schemas.plan import PlanRecord
from schemas.trajectory import Exchange, Scratchpad
from tools.base import Tool
from tools.function_calling import describe_fields

RESTATED_MAX = MISSING_MAX = 200
# two more strings than the planner's plan: room for them on top of its token budget
MAX_TEACHER_PLAN_TOKENS = 1024


def teacher_plan_model(tool_names: Sequence[str]) -> type[BaseModel]:
    """The teacher's Plan: request restated and what is missing, then the planner's fields."""
    fields = PlanRecord.model_fields
    tool_type = Literal[tuple(tool_names)]  # type: ignore[valid-type]
    return create_model(
        "TeacherPlan",
        request=(str, Field(max_length=RESTATED_MAX, description="the user's request, restated")),
        missing=(str, Field(max_length=MISSING_MAX, description="what is still missing")),
        context=(str, fields["context"]),
        thoughts=(str, fields["thoughts"]),
        task=(str, fields["task"]),
        tool=(tool_type, Field(description="the tool that carries out the task")),
    )  # fmt: skip


class TeacherPlanner(ModelPlanner):
    name = "teacher"

    def __init__(self, model: ChatModel, tools: Sequence[Tool], **options: Any) -> None:
        super().__init__(model, tools, **{"max_tokens": MAX_TEACHER_PLAN_TOKENS, **options})

    def schema(self, scratchpad: Scratchpad, only: Sequence[str] | None) -> Schema:
        """The teacher's richer plan, over `only` at the last step; a strong model needs no
        guard against repeating itself."""
        names = [t for t in self.tool_names if only is None or t in only] or self.tool_names
        return teacher_plan_model(names)

    def messages(
        self, request: str, scratchpad: Scratchpad, history: Sequence[Exchange]
    ) -> list[Message]:
        tool_list = "\n".join(f"- {t.name}: {t.description}" for t in self.tools)
        instructions = prompts.ZERO_SHOT_SYSTEM.format(
            tools=tool_list, fields=describe_fields(teacher_plan_model(self.tool_names))
        )
        return [system(instructions), prompts.planner_user_message(request, scratchpad, history)]
