"""A tool's own model calls: structured output under the tool's schema.

The planner only writes a task in plain words; a tool that needs arguments asks a model
for them here, under a grammar compiled from its Pydantic argument class, and validates
what comes back. A model failure becomes a ToolError so the agent shows it to the planner.
"""

from collections.abc import Sequence
from typing import TypeVar

from pydantic import BaseModel

from models.chat_model import ChatModel, ModelError
from schemas.chat import Message, system, user
from schemas.trajectory import Scratchpad
from tools import prompts
from tools.base import ToolError

T = TypeVar("T", bound=BaseModel)


def structured(
    model: ChatModel, schema: type[T], messages: Sequence[Message], *, max_tokens: int
) -> T:
    """One greedy completion under `schema`, validated."""
    try:
        completion = model.complete(messages, schema=schema, max_tokens=max_tokens)
    except ModelError as e:
        raise ToolError(f"the model could not produce {schema.__name__}: {e}") from e
    return completion.parsed


def describe_fields(schema: type[BaseModel]) -> str:
    """One line per field, `- name: description`, in declaration order."""
    return "\n".join(
        f"- {name}: {field.description or name}" for name, field in schema.model_fields.items()
    )


def context_message(request: str, task: str, scratchpad: Scratchpad) -> Message:
    return user(
        prompts.CONTEXT_USER.format(request=request, task=task, scratchpad=scratchpad.render())
    )


def derive_arguments(
    model: ChatModel,
    schema: type[T],
    *,
    tool: str,
    description: str,
    request: str,
    task: str,
    scratchpad: Scratchpad,
    notes: str = "",
    max_tokens: int = 256,
) -> T:
    """The arguments of `tool` for this task, derived by the model under `schema`."""
    instructions = prompts.ARGUMENTS_SYSTEM.format(
        tool=tool, description=description, fields=describe_fields(schema), notes=notes
    )
    messages = [system(instructions), context_message(request, task, scratchpad)]
    return structured(model, schema, messages, max_tokens=max_tokens)
