"""A tool's own model calls: structured output under the tool's schema.

The planner only writes a task in plain words; a tool that needs arguments asks a model
for them here, under a grammar compiled from its argument schema (a Pydantic class, or the
JSON Schema an MCP server declares), and validates what comes back. A model failure
becomes a ToolError so the agent shows it to the planner.
"""

from abc import abstractmethod
from collections.abc import Sequence
from typing import Any, TypeVar, overload

from pydantic import BaseModel, ValidationError

from models.chat_model import ChatModel, ModelError, Schema, ServerFault
from models.structured import schema_name
from schemas.chat import Message, system, user
from schemas.errors import validation_problem
from schemas.trajectory import Scratchpad
from tools import prompts
from tools.base import Observation, Tool, ToolError

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
    except ServerFault:
        raise  # the server's trouble: no tool result (planner.agent)
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


def argument_messages(
    schema: Schema,
    *,
    tool: str,
    description: str,
    request: str,
    task: str,
    scratchpad: Scratchpad,
    notes: str = "",
) -> list[Message]:
    """The conversation a tool's model answers with the arguments: what a trained tool
    caller learns from, too."""
    instructions = prompts.ARGUMENTS_SYSTEM.format(
        tool=tool, description=description, fields=describe_fields(schema), notes=notes
    )
    return [system(instructions), context_message(request, task, scratchpad)]


class ArgumentTool(Tool):
    """A tool that acts on arguments: `execute` carries a call out, and `derive` has the
    tool's model write the call for a task (under `argument_schema`), where no rule of the
    tool reads the task. The split lets a call be judged, explored and learned apart from
    how its arguments were found (`tools.calls`, `finetune.trial_and_error`)."""

    argument_schema: Schema
    argument_tokens: int = 256
    model: ChatModel | None = None

    def argument_notes(self) -> str:
        """What the model should know besides the fields (formats, today's date)."""
        return ""

    def argument_prompt(self, request: str, task: str, scratchpad: Scratchpad) -> list[Message]:
        return argument_messages(
            self.argument_schema, tool=self.name, description=self.description,
            request=request, task=task, scratchpad=scratchpad, notes=self.argument_notes(),
        )  # fmt: skip

    def call_schema(self, request: str, task: str, scratchpad: Scratchpad) -> Schema:
        """The schema a call for this task is decoded under: `argument_schema`, or a JSON
        Schema narrowed to what the run has seen (calculate's numbers)."""
        return self.argument_schema

    def derive(self, request: str, task: str, scratchpad: Scratchpad) -> Any:
        if self.model is None:
            raise ToolError(f"{self.name} needs a model to read the task {task!r}")
        prompt = self.argument_prompt(request, task, scratchpad)
        schema = self.call_schema(request, task, scratchpad)
        call = structured(self.model, schema, prompt, max_tokens=self.argument_tokens)
        if schema is self.argument_schema or isinstance(self.argument_schema, dict):
            return call
        try:  # a narrowed JSON Schema gives a dict: the tool takes its argument class
            return self.argument_schema.model_validate(call)
        except ValidationError as e:
            raise ToolError(f"{self.name}: {validation_problem(e)}") from e

    @abstractmethod
    def execute(self, arguments: Any) -> Observation:
        """Carry out the call; a ToolError says why it could not be done."""
