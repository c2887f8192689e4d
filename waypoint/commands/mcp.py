"""`waypoint mcp serve`: the agent and the grammar compiler as MCP tools, over stdio."""

from typing import TYPE_CHECKING

import typer

from waypoint.commands.agent import (
    IndexDir,
    MaxSteps,
    McpSpecs,
    Model,
    PlannerOption,
    Searxng,
    Threads,
    ToolNames,
    _no_user,
    build_agent,
    chat_settings,
    mcp_toolset,
)
from waypoint.commands.gpu import GpuLayers

if TYPE_CHECKING:
    from planner.agent import Agent

app = typer.Typer(help="waypoint for MCP clients.", no_args_is_help=True)


@app.command("serve")
def serve_command(
    model: Model = None,
    planner: PlannerOption = None,
    tools: ToolNames = None,
    max_steps: MaxSteps = None,
    index: IndexDir = None,
    searxng: Searxng = None,
    mcp: McpSpecs = None,
    threads: Threads = None,
    gpu_layers: GpuLayers = None,
) -> None:
    """Serve MCP over stdio: `ask` (a request in; the answer, status and steps out) and
    `compile_grammar` (a JSON Schema in, its GBNF grammar out).

    The model loads on the first `ask`; ask_user tells the planner that nobody can be
    asked. MCP servers given with --mcp serve the agent's tools in turn.

    Examples:

      waypoint mcp serve

      waypoint mcp serve --model smollm2-135m --tools calculate,final_answer

      An MCP client's config: {"command": "waypoint", "args": ["mcp", "serve"]}
    """
    from planner.mcp_server import agent_server

    settings = chat_settings(
        model, planner, tools, max_steps, index, searxng, mcp, threads, gpu_layers
    )
    with mcp_toolset(settings.mcp_servers) as toolset:

        def make_agent() -> "Agent":
            return build_agent(settings, ask=_no_user, mcp=toolset)

        agent_server(make_agent).run()
