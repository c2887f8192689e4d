"""Which MCP servers to use: a config entry, or a `--mcp "COMMAND ARGS"` spec on the command line.

An entry has the shape MCP clients share (Claude Desktop's `mcpServers`): a command with
its arguments and environment for a server over stdio, or the URL of a streamable-HTTP
endpoint. Nothing here starts a server.
"""

import re
import shlex
from collections.abc import Sequence
from pathlib import Path, PurePath
from typing import Self
from urllib.parse import urlsplit

from pydantic import BaseModel, ConfigDict, Field, model_validator

from schemas.errors import WaypointError

NAME_PATTERN = r"^[A-Za-z0-9_.-]{1,64}$"
# Programs that start a server named by their first other word (`uvx mcp-server-time`).
LAUNCHERS = {"python", "python3", "uv", "uvx", "npx", "node", "pipx", "bunx", "deno", "docker"}
LAUNCHER_VERBS = {"run", "exec", "tool", "x"}
ENV_WORD = re.compile(r"^([A-Za-z_][A-Za-z0-9_]*)=(.*)$", re.DOTALL)


class McpSpecError(WaypointError):
    """A `--mcp` spec or a config entry does not say how to reach a server."""


class McpServer(BaseModel):
    """One MCP server: `command` (stdio) or `url` (streamable HTTP), never both."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    name: str = Field(pattern=NAME_PATTERN, description="shown as the tools' source")
    command: str | None = Field(None, description="the program that serves MCP over stdio")
    args: list[str] = Field(default_factory=list)
    env: dict[str, str] = Field(default_factory=dict, description="added to a safe minimum")
    cwd: Path | None = None
    url: str | None = Field(None, description="a streamable-HTTP endpoint, http(s)://…/mcp")
    start_timeout: float = Field(30.0, gt=0, description="seconds to start and list tools")
    timeout: float = Field(60.0, gt=0, description="seconds a tool call may take")

    @model_validator(mode="after")
    def _one_transport(self) -> Self:
        if (self.command is None) == (self.url is None):
            raise ValueError(f"the MCP server {self.name} needs either a command or a url")
        if self.url is not None and urlsplit(self.url).scheme not in ("http", "https"):
            raise ValueError(f"the MCP server {self.name} has a url that is not http(s)")
        return self

    def describe(self) -> str:
        return self.url or shlex.join([self.command or "", *self.args])


def parse_spec(spec: str) -> McpServer:
    """`"[VAR=value …] COMMAND ARGS"` (stdio) or `"http(s)://HOST:PORT/PATH"` (HTTP)."""
    if spec.strip().startswith(("http://", "https://")):
        url = spec.strip()
        return McpServer(name=_clean(urlsplit(url).netloc), url=url)
    try:
        words = shlex.split(spec)
    except ValueError as e:
        raise McpSpecError(f"the --mcp spec {spec!r} does not parse: {e}") from e
    env: dict[str, str] = {}
    while words and (match := ENV_WORD.match(words[0])):
        env[match[1]] = match[2]
        words.pop(0)
    if not words:
        raise McpSpecError(f"the --mcp spec {spec!r} names no command")
    return McpServer(name=default_name(words), command=words[0], args=words[1:], env=env)


def parse_specs(specs: Sequence[str]) -> list[McpServer]:
    """Servers from several specs; a repeated name gets a suffix (-2, -3, …)."""
    servers: list[McpServer] = []
    for spec in specs:
        server = parse_spec(spec)
        taken = {s.name for s in servers}
        name, n = server.name, 1
        while name in taken:
            n += 1
            name = f"{server.name}-{n}"
        servers.append(server.model_copy(update={"name": name}))
    return servers


def default_name(argv: Sequence[str]) -> str:
    """A short name for a server command: its program, or what a launcher starts
    (`python -m pkg.demo` → demo, `npx -y @scope/server-files /tmp` → server-files)."""
    words = [w for w in argv if not w.startswith("-")]
    for word in words:
        stem = PurePath(word).name.removesuffix(".exe")
        if stem.startswith("python") or stem in LAUNCHERS or stem in LAUNCHER_VERBS:
            continue
        stem = stem.removesuffix(".py").removesuffix(".js")
        return _clean(stem.rsplit(".", 1)[-1] if stem.count(".") else stem)
    return _clean(PurePath(argv[0]).name)


def _clean(name: str) -> str:
    return re.sub(r"[^A-Za-z0-9_.-]", "_", name)[:64] or "mcp"
