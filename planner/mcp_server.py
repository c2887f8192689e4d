"""waypoint as an MCP server: the agent and the grammar compiler as MCP tools.

`ask` runs one request through the agent (a request in; the answer, the status and the
steps out), so any MCP client can use the local planner. `compile_grammar` turns a JSON
Schema into the GBNF grammar waypoint would decode under. The agent is built on the first
`ask` (a model takes a while to load; the client's handshake should not wait for it) and
runs one request at a time. Built on the SDK's MCPServer (FastMCP in mcp 1.x).
"""

import threading
from collections.abc import Callable
from typing import Any

from pydantic import BaseModel, Field

from planner.agent import Agent
from schemas.errors import WaypointError
from schemas.grammar import Grammar, GrammarError, compile_grammar
from schemas.trajectory import Status, Step

INSTRUCTIONS = """\
waypoint is a local planning agent whose model output is constrained by grammars.
`ask` hands it a request; it plans step by step with its tools and returns the answer
and the steps it took. `compile_grammar` compiles a JSON Schema to a GBNF grammar."""


class AskResult(BaseModel):
    status: Status
    answer: str | None = Field(None, description="the final answer, when the run found one")
    reason: str | None = Field(None, description="why a run ended without an answer")
    steps: list[Step] = Field(default_factory=list, description="each plan and its result")


def agent_server(make_agent: Callable[[], Agent]) -> Any:
    """An MCPServer (run it with `.run()` for stdio) whose agent `make_agent` builds."""
    from mcp.server.mcpserver import MCPServer
    from mcp.server.mcpserver.exceptions import ToolError

    server = MCPServer("waypoint", instructions=INSTRUCTIONS, log_level="WARNING")
    lock = threading.Lock()  # one agent, one request at a time
    agents: list[Agent] = []

    @server.tool()
    def ask(request: str = Field(min_length=1, max_length=4000)) -> AskResult:
        """Runs one request through the waypoint agent and returns its answer and steps."""
        with lock:
            try:
                if not agents:
                    agents.append(make_agent())
                trajectory = agents[0].run(request)
            except WaypointError as e:  # a model that cannot load, say: the client reads why
                raise ToolError(str(e)) from e
        return AskResult(
            status=trajectory.status,
            answer=trajectory.answer,
            reason=trajectory.reason,
            steps=trajectory.steps,
        )

    @server.tool(name="compile_grammar")
    def compile_schema(schema: dict[str, Any]) -> Grammar:
        """Compiles a JSON Schema to the GBNF grammar that llama.cpp enforces; refuses, with
        the keyword and its path, what a grammar cannot enforce."""
        try:
            return compile_grammar(schema)
        except GrammarError as e:
            raise ToolError(str(e)) from e

    return server
