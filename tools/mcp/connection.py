"""One MCP server, reached through the official SDK from the agent's synchronous code.

The SDK is async; a toolset runs one event loop in a thread (an anyio blocking portal) and
every connection lives there as one long-running task that holds the SDK `Client` open, so
the transport is entered and left in the same task, as anyio requires. The server starts
on first use (listing its tools or calling one), within `start_timeout`; each call is
bounded by `timeout`. A server that dies mid-run fails that call with a clear error and is
started again by the next call. A stdio server's stderr goes to a log file, whose last
line is quoted when the server fails.
"""

import math
from collections.abc import Awaitable, Callable
from concurrent.futures import Future
from contextlib import suppress
from pathlib import Path
from typing import IO, Any, TypeVar

import anyio
from anyio.abc import TaskStatus
from anyio.from_thread import BlockingPortal

from schemas.errors import WaypointError
from tools.mcp.servers import McpServer

T = TypeVar("T")
STOP_TIMEOUT = 10.0  # seconds for a server to shut down before it is left to the SDK's kill


class McpError(WaypointError):
    """An MCP server could not be started or reached, or broke the protocol."""


class McpConnection:
    def __init__(self, server: McpServer, portal: Callable[[], BlockingPortal], log: Path) -> None:
        self.server = server
        self.log = log  # a stdio server's stderr
        self._portal = portal
        self._session: Future[None] | None = None
        self._client: Any = None  # mcp.Client, imported with the SDK on first use
        self._stop: anyio.Event | None = None

    @property
    def name(self) -> str:
        return self.server.name

    def list_tools(self) -> list[Any]:
        """The server's tools (mcp_types.Tool), every page; starts the server if needed."""
        tools: list[Any] = []
        cursor: str | None = None
        while True:
            page = self._request("listing its tools", lambda c, at=cursor: c.list_tools(cursor=at))
            tools += page.tools
            cursor = page.next_cursor
            if cursor is None:
                return tools

    def call_tool(self, tool: str, arguments: dict[str, Any]) -> Any:
        """The server's CallToolResult; a protocol error or a lost server raises McpError."""
        return self._request(f"running {tool}", lambda c: c.call_tool(tool, arguments))

    def close(self) -> None:
        """Stop the server (if it runs); safe to call more than once."""
        session, self._session = self._session, None
        if session is None or session.done():
            return
        stop = self._stop
        if stop is not None:
            self._portal().call(stop.set)
        with suppress(Exception):  # a server that fails while stopping is stopped all the same
            session.result(timeout=STOP_TIMEOUT)

    # -- the session ----------------------------------------------------------------------

    def _request(self, what: str, send: Callable[[Any], Awaitable[T]]) -> T:
        from mcp import MCPError
        from mcp_types import CONNECTION_CLOSED

        client = self._started()

        async def bounded() -> T:
            with anyio.fail_after(self.server.timeout):
                return await send(client)

        future = self._portal().start_task_soon(bounded)
        try:
            return future.result()
        except KeyboardInterrupt:
            future.cancel()  # Ctrl-C: the agent keeps its steps, the call is abandoned
            raise
        except TimeoutError:
            raise McpError(
                f"the MCP server {self.name} gave no answer within {self.server.timeout:g} s "
                f"while {what}"
            ) from None
        except MCPError as e:
            if e.code == CONNECTION_CLOSED:
                self.close()
                raise McpError(
                    f"the MCP server {self.name} stopped while {what}{self._last_words()}; "
                    "it starts again on the next call"
                ) from None
            raise McpError(f"the MCP server {self.name} refused {what}: {e.message}") from None
        except Exception as e:  # a transport failure: the session is gone
            self.close()
            raise McpError(f"the MCP server {self.name} failed while {what}: {_reason(e)}") from e

    def _started(self) -> Any:
        if self._session is not None and not self._session.done():
            return self._client
        try:
            self._session, (self._client, self._stop) = self._portal().start_task(
                self._run, name=f"mcp:{self.name}"
            )
        except TimeoutError:
            raise McpError(
                f"the MCP server {self.name} did not start within "
                f"{self.server.start_timeout:g} s{self._last_words()}"
            ) from None
        except Exception as e:
            raise McpError(
                f"the MCP server {self.name} ({self.server.describe()}) did not start: "
                f"{_reason(e)}{self._last_words()}"
            ) from e
        return self._client

    async def _run(self, *, task_status: TaskStatus[tuple[Any, anyio.Event]]) -> None:
        """The connection's task: open the client, hand it over, hold it until stopped."""
        from mcp import Client, Implementation

        self.log.parent.mkdir(parents=True, exist_ok=True)
        with self.log.open("w") as errlog:  # the log holds the latest start
            transport = self._transport(errlog)
            info = Implementation(name="waypoint", version="0.1.0")
            with anyio.CancelScope(deadline=anyio.current_time() + self.server.start_timeout) as s:
                async with Client(transport, client_info=info) as client:
                    s.deadline = math.inf  # started: only calls are bounded from here on
                    stop = anyio.Event()
                    task_status.started((client, stop))
                    await stop.wait()
            if s.cancelled_caught:
                raise TimeoutError

    def _transport(self, errlog: IO[str]) -> Any:
        from mcp.client.stdio import StdioServerParameters, stdio_client
        from mcp.client.streamable_http import streamable_http_client

        server = self.server
        if server.url is not None:
            return streamable_http_client(server.url)
        assert server.command is not None  # McpServer has one or the other
        parameters = StdioServerParameters(
            command=server.command, args=server.args, env=server.env or None, cwd=server.cwd
        )
        return stdio_client(parameters, errlog=errlog)

    def _last_words(self) -> str:
        """The last line the server wrote to stderr, as a hint to what went wrong."""
        try:
            lines = [line for line in self.log.read_text(errors="replace").splitlines() if line]
        except OSError:
            return ""
        return f" (its last words: {lines[-1][:200]!r}; log {self.log})" if lines else ""


def _reason(error: BaseException) -> str:
    """The innermost message of an error, looking through exception groups."""
    while isinstance(error, BaseExceptionGroup) and error.exceptions:
        error = error.exceptions[0]
    return str(error) or type(error).__name__
