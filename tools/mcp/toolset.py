"""The tools of a set of MCP servers, for the tool registry; the servers' lifetime.

Nothing starts when a toolset is made. `tools()` starts each server (lazily, once), lists
its tools and compiles every argument schema; a tool whose schema the compiler refuses is
left out with one line in `refused` that names the tool and the keyword. `close()` (or the
end of a `with` block) stops every server and the event-loop thread they share.
"""

from collections.abc import Collection, Sequence
from contextlib import ExitStack
from pathlib import Path
from typing import Any, Self

from anyio.from_thread import BlockingPortal, start_blocking_portal

from models.chat_model import ChatModel
from schemas.errors import WaypointError
from schemas.grammar import GrammarError
from tools.mcp.connection import McpConnection
from tools.mcp.servers import McpServer
from tools.mcp.tool import McpTool


class McpToolset:
    def __init__(self, servers: Sequence[McpServer], log_dir: Path) -> None:
        if len({s.name for s in servers}) != len(servers):
            raise WaypointError("two MCP servers share a name; give each its own")
        self.servers = list(servers)
        self.connections = [
            McpConnection(s, self._portal, log_dir / f"mcp-{s.name}.log") for s in servers
        ]
        self.refused: list[str] = []  # one line per tool left out
        self._stack = ExitStack()
        self._running: BlockingPortal | None = None
        self._listed: dict[str, list[Any]] = {}  # per server, its tools (mcp_types.Tool)

    def tools(self, model: ChatModel | None, taken: Collection[str] = ()) -> list[McpTool]:
        """Every usable tool of every server, built with `model` for their arguments. A
        name already `taken` (by another tool) is qualified with the server's name."""
        tools: list[McpTool] = []
        self.refused = []
        names = set(taken)
        for connection in self.connections:
            if connection.name not in self._listed:
                self._listed[connection.name] = connection.list_tools()
            for remote in self._listed[connection.name]:
                name = remote.name
                if name in names:
                    name = f"{connection.name}_{name}"
                try:
                    tool = McpTool(connection, remote, name=name, model=model)
                except GrammarError as e:
                    self.refused.append(f"MCP tool {name} ({connection.name}) left out: {e}")
                    continue
                names.add(name)
                tools.append(tool)
        return tools

    def close(self) -> None:
        for connection in self.connections:
            connection.close()
        self._stack.close()
        self._running = None

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def _portal(self) -> BlockingPortal:
        """The event loop the connections share, started on first need."""
        if self._running is None:
            self._running = self._stack.enter_context(start_blocking_portal())
        return self._running
