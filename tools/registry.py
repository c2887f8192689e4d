"""The real tools by name. A new tool is one module and one line here; the tools of MCP
servers join them in `load_tools`.

Entries are import paths, so a tool's module (and whatever it imports) loads only when the
tool is built; heavy resources inside a tool load on its first run.
"""

import importlib
from collections.abc import Sequence
from typing import TYPE_CHECKING

from schemas.errors import WaypointError
from tools.base import Tool
from tools.context import ToolContext

if TYPE_CHECKING:
    from tools.mcp.toolset import McpToolset

TOOLS: dict[str, str] = {
    "search_wikipedia": "tools.search_wikipedia:SearchWikipedia",
    "search_internet": "tools.search_internet:SearchInternet",
    "calculate": "tools.calculate:Calculate",
    "ask_user": "tools.ask_user:AskUser",
    "send_email": "tools.send_email:SendEmail",
    "create_event": "tools.create_event:CreateEvent",
    "final_answer": "tools.final_answer:FinalAnswer",
}


class UnknownToolError(WaypointError):
    pass


def tool_class(name: str) -> type[Tool]:
    if name not in TOOLS:
        raise UnknownToolError(f"no tool named {name!r}; the tools are: {', '.join(TOOLS)}")
    module, _, attr = TOOLS[name].partition(":")
    return getattr(importlib.import_module(module), attr)


def load_tools(
    context: ToolContext, names: Sequence[str] | None = None, mcp: "McpToolset | None" = None
) -> list[Tool]:
    """The named tools built from `context`, in registry order when `names` is None (then
    tools that cannot work here, like search_internet without a SearXNG URL, are left out).
    The tools of the MCP servers in `mcp` come after them (listing them starts the servers);
    `names` may name those too."""
    remote = {tool.name: tool for tool in (mcp.tools(context.model, taken=TOOLS) if mcp else [])}
    if names is None:
        classes = [tool_class(name) for name in TOOLS]
        classes = [cls for cls in classes if cls.unavailable(context) is None]
        return [cls.from_context(context) for cls in classes] + list(remote.values())
    tools: list[Tool] = []
    for name in dict.fromkeys(names):
        if name in remote:
            tools.append(remote[name])
            continue
        if name not in TOOLS:
            known = ", ".join([*TOOLS, *remote])
            raise UnknownToolError(f"no tool named {name!r}; the tools are: {known}")
        cls = tool_class(name)
        if reason := cls.unavailable(context):
            raise WaypointError(f"the tool {cls.name} is unavailable: {reason}")
        tools.append(cls.from_context(context))
    return tools
