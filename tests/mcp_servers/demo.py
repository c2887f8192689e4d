"""A small MCP server written with the SDK's MCPServer (FastMCP in mcp 1.x), for the tests.

Its tools cover what waypoint's argument grammar must handle: enum arguments
(`convert_temperature`), a nested object with an enum inside (`book_room`), plain strings
(`lookup_order`, which fails for every unknown order with an MCP tool error), a schema
the grammar compiler must refuse (`tag_items` uses `$dynamicRef`), a tool that takes its time
(`wait`) and one that kills the server process (`crash`), so a test can watch a server die
mid-run. With DEMO_PID_FILE set, the server writes its process id there when it starts.

Run over stdio: `python tests/mcp_servers/demo.py`; over streamable HTTP on loopback:
`python tests/mcp_servers/demo.py --http PORT` (serves http://127.0.0.1:PORT/mcp).
"""

import os
import sys
import time
from typing import Annotated, Literal

from mcp.server.mcpserver import MCPServer
from mcp.server.mcpserver.exceptions import ToolError
from pydantic import BaseModel, Field

Unit = Literal["celsius", "fahrenheit", "kelvin"]

server = MCPServer("demo", log_level="WARNING")


@server.tool()
def convert_temperature(value: float, unit: Unit, to: Unit) -> str:
    """Converts a temperature from one unit to another."""
    kelvin = {"celsius": value + 273.15, "fahrenheit": (value - 32) * 5 / 9 + 273.15}.get(
        unit, value
    )
    result = {"celsius": kelvin - 273.15, "fahrenheit": (kelvin - 273.15) * 9 / 5 + 32}.get(
        to, kelvin
    )
    return f"{value:g} {unit} is {result:.1f} {to}"


class Guest(BaseModel):
    name: str = Field(max_length=60, description="the guest's full name")
    email: str = Field(max_length=80, description="where the confirmation goes")


class Booking(BaseModel):
    guest: Guest
    room: Literal["single", "double", "suite"]
    nights: int = Field(ge=1, le=30)


@server.tool()
def book_room(booking: Booking) -> str:
    """Books a hotel room for a guest for a number of nights."""
    return (
        f"booked a {booking.room} room for {booking.guest.name} for {booking.nights} "
        f"night{'s' * (booking.nights != 1)}; confirmation sent to {booking.guest.email}"
    )


ORDERS = {"A-1001": "order A-1001: 2 lamps, shipped on 2025-03-02"}


@server.tool()
def lookup_order(order_id: str = Field(max_length=20)) -> str:
    """Looks up an order by its id."""
    if order_id not in ORDERS:
        raise ToolError(f"no order with the id {order_id!r}")
    return ORDERS[order_id]


DYNAMIC = {"$dynamicRef": "#tags"}  # no grammar can follow a dynamic reference


@server.tool()
def tag_items(
    tags: Annotated[list[str], Field(max_length=5, json_schema_extra=DYNAMIC)],
) -> str:
    """Tags the latest items."""
    return f"tagged with {', '.join(tags)}"


@server.tool()
def wait(seconds: float = Field(ge=0, le=30)) -> str:
    """Waits the given number of seconds, then says so."""
    time.sleep(seconds)
    return f"waited {seconds:g} s"


@server.tool()
def crash() -> str:
    """Stops the server at once (for tests of a server that dies mid-run)."""
    os._exit(3)


if __name__ == "__main__":
    if pid_file := os.environ.get("DEMO_PID_FILE"):
        with open(pid_file, "w") as f:
            f.write(str(os.getpid()))
    if len(sys.argv) == 3 and sys.argv[1] == "--http":
        server.run("streamable-http", host="127.0.0.1", port=int(sys.argv[2]))
    else:
        server.run()
