"""`waypoint tools list`: every tool the planner can choose, waypoint's own and those of MCP
servers, with where each comes from."""

from typing import TYPE_CHECKING

import typer
from rich.console import Console
from rich.markup import escape
from rich.table import Table

from waypoint.commands.agent import IndexDir, McpSpecs, Searxng, chat_settings, mcp_toolset

if TYPE_CHECKING:
    from tools.base import Tool

app = typer.Typer(
    help="The agent's tools: waypoint's own and those of MCP servers.", no_args_is_help=True
)


def tool_source(tool: "Tool") -> str:
    """`waypoint` for a built-in tool, `mcp:SERVER` for a tool of an MCP server."""
    from tools.mcp.tool import McpTool

    return f"mcp:{tool.server}" if isinstance(tool, McpTool) else "waypoint"


@app.command("list")
def list_command(mcp: McpSpecs = None, index: IndexDir = None, searxng: Searxng = None) -> None:
    """List every tool with its source and the description the planner sees.

    The MCP servers named with --mcp are started to list their tools and stopped again;
    a tool whose argument schema the grammar compiler refuses is named, with the reason.

    Examples:

      waypoint tools list

      waypoint tools list --mcp "uvx mcp-server-time" --mcp http://127.0.0.1:8000/mcp
    """
    from tools.context import ToolContext
    from tools.registry import TOOLS, load_tools, tool_class

    settings = chat_settings(index=index, searxng=searxng, mcp=mcp)
    console = Console(highlight=False)
    context = ToolContext(searxng_url=settings.searxng_url, index_dir=settings.index)
    table = Table("tool", "source", "description", box=None, header_style="bold")
    with mcp_toolset(settings.mcp_servers) as toolset:
        tools = load_tools(context, mcp=toolset)
        for tool in tools:
            table.add_row(f"[magenta]{tool.name}[/]", tool_source(tool), escape(tool.description))
        for name in TOOLS:
            if reason := tool_class(name).unavailable(context):
                table.add_row(
                    f"[dim]{name}[/]", "waypoint", f"[dim]unavailable: {escape(reason)}[/]"
                )
        console.print(table)
        for line in toolset.refused:
            console.print(f"[yellow]{escape(line)}[/]")
