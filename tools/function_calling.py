"""A tool's own model calls: structured output under the tool's schema.

The planner only writes a task in plain words; a tool that needs arguments asks a model
for them here, under a grammar compiled from its argument schema (a Pydantic class, or the
JSON Schema an MCP server declares), and validates what comes back. A model failure
becomes a ToolError so the agent shows it to the planner.
"""

from collections.abc import Sequence
from typing import Any, TypeVar, overload

from pydantic import BaseModel

from models.chat_model import ChatModel, ModelError, Schema
from models.structured import schema_name
from schemas.chat import Message, system, user
from schemas.trajectory import Scratchpad
from tools import prompts
from tools.base import ToolError

T = TypeVar("T", bound=BaseModel)
JsonSchema = dict[str, Any]


@overload
def structured(
    model: ChatModel, schema: type[T], messages: Sequence[Message], *, max_tokens: int
) -> T: ...
@overload
def structured(
    model: ChatModel, schema: JsonSchema, messages: Sequence[Message], *, max_tokens: int
) -> dict[str, Any]: ...
def structured(
    model: ChatModel, schema: Schema, messages: Sequence[Message], *, max_tokens: int
) -> Any:
    """One greedy completion under `schema`, validated: an instance of a Pydantic class,
    or the JSON object for a JSON Schema."""
    try:
        completion = model.complete(messages, schema=schema, max_tokens=max_tokens)
    except ModelError as e:
        raise ToolError(f"the model could not produce {schema_name(schema)}: {e}") from e
    return completion.parsed


def describe_fields(schema: Schema) -> str:
    """One line per field (top-level property), `- name: description`, in declared order."""
    if isinstance(schema, dict):
        properties = schema.get("properties") or {}
        return "\n".join(f"- {name}: {_property_text(name, p)}" for name, p in properties.items())
    return "\n".join(
        f"- {name}: {field.description or name}" for name, field in schema.model_fields.items()
    )


def _property_text(name: str, prop: Any) -> str:
    if not isinstance(prop, dict):
        return name
    text = str(prop.get("description") or prop.get("title") or name)
    if isinstance(choices := prop.get("enum"), list):
        text += f" (one of: {', '.join(map(str, choices))})"
    return text


def context_message(request: str, task: str, scratchpad: Scratchpad) -> Message:
    return user(
        prompts.CONTEXT_USER.format(request=request, task=task, scratchpad=scratchpad.render())
    )


@overload
def derive_arguments(
    model: ChatModel, schema: type[T], *, tool: str, description: str, request: str,
    task: str, scratchpad: Scratchpad, notes: str = "", max_tokens: int = 256,
) -> T: ...  # fmt: skip
@overload
def derive_arguments(
    model: ChatModel, schema: JsonSchema, *, tool: str, description: str, request: str,
    task: str, scratchpad: Scratchpad, notes: str = "", max_tokens: int = 256,
) -> dict[str, Any]: ...  # fmt: skip
def derive_arguments(
    model: ChatModel,
    schema: Schema,
    *,
    tool: str,
    description: str,
    request: str,
    task: str,
    scratchpad: Scratchpad,
    notes: str = "",
    max_tokens: int = 256,
) -> Any:
    """The arguments of `tool` for this task, derived by the model under `schema`."""
    instructions = prompts.ARGUMENTS_SYSTEM.format(
        tool=tool, description=description, fields=describe_fields(schema), notes=notes
    )
    messages = [system(instructions), context_message(request, task, scratchpad)]
    return structured(model, schema, messages, max_tokens=max_tokens)
