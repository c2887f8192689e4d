"""Tools from MCP servers: each server's tools become waypoint Tools whose arguments are
decoded under a grammar compiled from the tool's own JSON Schema.

`servers` says which servers there are (a config entry or a `--mcp` spec), `connection`
talks to one of them through the official `mcp` SDK, `tool` is one remote tool as a waypoint
Tool, and `toolset` ties a set of servers to the registry and stops them at the end.
"""
