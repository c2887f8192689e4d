"""One MCP server tool as a waypoint Tool.

The planner sees the tool's name and the first paragraph of its description. When the
planner picks it, the tool's arguments are derived from the task by the model under a
grammar compiled from the tool's `inputSchema` by waypoint's compiler (objects closed to
their declared keys, see `tools.mcp.arguments`), so they are valid by construction; the
server's text content is the observation. An `isError` result, a protocol error or a
server that died fails the step with the server's words (a ToolError): the agent shows it
to the planner and the run goes on.
"""

import json
from typing import Any

from models.chat_model import ChatModel
from models.structured import grammar_for
from schemas.trajectory import Scratchpad
from tools.base import Observation, ToolError
from tools.function_calling import ArgumentTool
from tools.mcp.arguments import argument_schema
from tools.mcp.connection import McpConnection, McpError

DESCRIPTION_CHARS = 300  # the planner's prompt lists every tool: keep each one short
OBSERVATION_CHARS = 2000  # a server may return whole files; a small planner needs the gist
ARGUMENT_TOKENS = 512


class McpTool(ArgumentTool):
    argument_tokens = ARGUMENT_TOKENS

    def __init__(
        self,
        connection: McpConnection,
        remote: Any,  # mcp_types.Tool, as the server listed it
        *,
        name: str | None = None,
        model: ChatModel | None = None,
    ) -> None:
        """Compiles the argument grammar at once: a schema the compiler refuses raises
        GrammarError (naming the keyword and where), so the tool can be left out."""
        self.name = name or remote.name  # type: ignore[misc]
        self.description = short_description(remote)  # type: ignore[misc]
        self.remote_name: str = remote.name
        self.input_schema: dict[str, Any] = remote.input_schema
        self.argument_schema = argument_schema(remote.input_schema)
        self.connection = connection
        self.model = model
        if self.takes_arguments:
            grammar_for(self.argument_schema)

    @property
    def server(self) -> str:
        return self.connection.name

    @property
    def takes_arguments(self) -> bool:
        return bool(self.input_schema.get("properties") or self.input_schema.get("required"))

    def run(self, request: str, task: str, scratchpad: Scratchpad) -> Observation:
        return self.execute(self.derive(request, task, scratchpad))

    def execute(self, arguments: dict[str, Any]) -> Observation:
        try:
            result = self.connection.call_tool(self.remote_name, arguments)
        except McpError as e:
            raise ToolError(str(e)) from e
        text = result_text(result)
        if result.is_error:
            raise ToolError(f"{self.name} failed: {text or 'the server gave no reason'}")
        return Observation(text=_clip(text) or f"{self.name} returned nothing")

    def derive(self, request: str, task: str, scratchpad: Scratchpad) -> dict[str, Any]:
        """The call's arguments, by the model under the tool's argument schema."""
        if not self.takes_arguments:
            return {}
        if self.model is None:
            raise ToolError(f"the tool {self.name} needs a chat model for its arguments")
        return super().derive(request, task, scratchpad)


def short_description(remote: Any) -> str:
    """The first paragraph of a tool's description (or its title, or its name), clipped."""
    text = (remote.description or remote.title or remote.name).strip()
    first = " ".join(text.split("\n\n", 1)[0].split())
    return first if len(first) <= DESCRIPTION_CHARS else first[: DESCRIPTION_CHARS - 1] + "…"


def result_text(result: Any) -> str:
    """A CallToolResult's content as text: text blocks and embedded text resources as they
    are, other blocks as a one-line mention; structured content when there is nothing else."""
    parts: list[str] = []
    for block in result.content:
        match block.type:
            case "text":
                parts.append(block.text)
            case "resource" if hasattr(block.resource, "text"):
                parts.append(block.resource.text)
            case "resource":
                parts.append(f"[resource {block.resource.uri}]")
            case "resource_link":
                parts.append(f"[resource {block.uri}]")
            case _:
                parts.append(f"[{block.type} {getattr(block, 'mime_type', '')}]".replace(" ]", "]"))
    if not parts and result.structured_content is not None:
        parts.append(json.dumps(result.structured_content, ensure_ascii=False))
    return "\n".join(parts).strip()


def _clip(text: str) -> str:
    if len(text) <= OBSERVATION_CHARS:
        return text
    return f"{text[:OBSERVATION_CHARS]}… ({len(text) - OBSERVATION_CHARS} more characters)"
