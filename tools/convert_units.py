"""`convert_units`: a unit-conversion tool served over MCP (`python -m tools.convert_units`).

It joins an agent the way any new tool from outside does, as an MCP server (`--mcp "python
-m tools.convert_units"`), with arguments the tool caller derives from the server's JSON
Schema; so it is also the new tool that continual learning adds to a trained tool caller
(`finetune.tool_caller`). The units are pint's; the names in the schema are a closed list
so that the grammar only admits units the server knows.
"""

from typing import Literal, get_args

from tools.units import convert

UnitName = Literal[
    "meter", "foot", "kilometer", "mile", "inch", "centimeter", "kilogram", "pound",
    "liter", "gallon", "hour", "minute",
]  # fmt: skip
UNIT_NAMES: tuple[str, ...] = get_args(UnitName)


def serve() -> None:
    from mcp.server.mcpserver import MCPServer
    from mcp.server.mcpserver.exceptions import ToolError

    server = MCPServer("units", log_level="WARNING")

    @server.tool()
    def convert_units(value: float, unit: UnitName, to: UnitName) -> str:
        """Converts an amount from one unit of measurement to another."""
        try:
            result = convert(value, unit, to)
        except ValueError as e:
            raise ToolError(str(e)) from e
        return f"{value:g} {unit} is {result:.4g} {to}"

    server.run()


if __name__ == "__main__":
    serve()
