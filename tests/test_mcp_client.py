"""MCP tools under waypoint's argument grammar, against real servers: the demo MCPServer
(tests/mcp_servers/demo.py) over stdio and over streamable HTTP on loopback, with the
bundled model deriving the arguments."""

import json
import os
import re
import socket
import subprocess
import sys
import time
from pathlib import Path

import jsonschema
import pytest

from models.chat_model import ChatModel
from planner.agent import Agent
from planner.base import Decision, Planner
from planner.model_planner import ZeroShotPlanner
from schemas.chat import Completion
from schemas.plan import PlanRecord, plan_model
from schemas.trajectory import Scratchpad
from tools.base import ToolError
from tools.context import ToolContext
from tools.mcp.connection import McpError
from tools.mcp.servers import McpServer, McpSpecError, parse_spec, parse_specs
from tools.mcp.toolset import McpToolset
from tools.registry import UnknownToolError, load_tools

DEMO = Path(__file__).parent / "mcp_servers" / "demo.py"
DEMO_TOOLS = ["convert_temperature", "book_room", "lookup_order", "wait", "crash"]
# What the demo server says on success or on a refusal of its own: a reply that matches
# came from the server, with arguments it accepted.
UNIT = "(celsius|fahrenheit|kelvin)"
SERVER_SAYS = {
    "convert_temperature": rf"^-?[\d.]+ {UNIT} is -?\d+\.\d {UNIT}$",
    "book_room": r"^booked a (single|double|suite) room for .+ for \d+ nights?; confirmation sent",
    "lookup_order": r"^(order A-1001: 2 lamps|lookup_order failed: .*no order with the id)",
}


def demo(**settings) -> McpServer:
    return McpServer(name="demo", command=sys.executable, args=[str(DEMO)], **settings)


@pytest.fixture(scope="module")
def toolset(tmp_path_factory):
    with McpToolset([demo()], tmp_path_factory.mktemp("mcp-logs")) as toolset:
        yield toolset


@pytest.fixture(scope="module")
def tools(toolset, chat_model):
    return {tool.name: tool for tool in toolset.tools(chat_model)}


# -- which servers ------------------------------------------------------------------------


def test_specs_name_their_servers():
    server = parse_spec("API_KEY='a b' python -m tests.mcp_servers.demo --verbose")
    assert (server.name, server.command, server.args) == (
        "demo", "python", ["-m", "tests.mcp_servers.demo", "--verbose"],
    )  # fmt: skip
    assert server.env == {"API_KEY": "a b"}
    assert parse_spec("npx -y @modelcontextprotocol/server-filesystem /tmp").name == (
        "server-filesystem"
    )
    assert parse_spec("uvx mcp-server-time").name == "mcp-server-time"
    web = parse_spec("http://127.0.0.1:8123/mcp")
    assert (web.url, web.command, web.name) == ("http://127.0.0.1:8123/mcp", None, "127.0.0.1_8123")
    names = [s.name for s in parse_specs(["uvx mcp-server-time", "uvx mcp-server-time --x"])]
    assert names == ["mcp-server-time", "mcp-server-time-2"]


@pytest.mark.parametrize(
    ("spec", "message"),
    [("", "names no command"), ("A=1", "names no command"), ("python 'x", "does not parse")],
)
def test_a_bad_spec_is_one_clear_error(spec, message):
    with pytest.raises(McpSpecError, match=message):
        parse_spec(spec)


def test_a_server_entry_names_one_transport():
    with pytest.raises(ValueError, match="either a command or a url"):
        McpServer(name="x")
    with pytest.raises(ValueError, match="either a command or a url"):
        McpServer(name="x", command="srv", url="http://127.0.0.1:1/mcp")
    with pytest.raises(ValueError, match="not http"):
        McpServer(name="x", url="file:///etc/passwd")


# -- tools of a stdio server -------------------------------------------------------------


def test_a_stdio_server_s_tools_join_the_registry_and_the_plan_enum(toolset, tools, chat_model):
    assert list(tools) == DEMO_TOOLS
    assert all(tool.server == "demo" for tool in tools.values())
    assert tools["lookup_order"].description == "Looks up an order by its id."
    # fail closed: one line naming the tool and the keyword, and the tool left out
    [refused] = toolset.refused
    assert "tag_items" in refused and "'$dynamicRef'" in refused and "#/properties/tags" in refused
    context = ToolContext(model=chat_model)
    loaded = load_tools(context, ["calculate", "book_room", "final_answer"], toolset)
    assert [t.name for t in loaded] == ["calculate", "book_room", "final_answer"]
    assert [t.name for t in load_tools(context, mcp=toolset)][-len(DEMO_TOOLS) :] == DEMO_TOOLS
    planner = ZeroShotPlanner(chat_model, loaded)
    enum = plan_model(planner.tool_names).model_json_schema()["properties"]["tool"]["enum"]
    assert enum == ["calculate", "book_room", "final_answer"]
    with pytest.raises(UnknownToolError, match=r"no tool named 'teleport'.*lookup_order"):
        load_tools(context, ["teleport"], toolset)


def test_a_taken_name_is_qualified_with_the_server(toolset):
    names = [tool.name for tool in toolset.tools(None, taken={"crash", "calculate"})]
    assert names == [*DEMO_TOOLS[:-1], "demo_crash"]


@pytest.mark.parametrize(
    ("tool", "task"),
    [
        ("convert_temperature", "Convert 100 degrees fahrenheit to celsius"),
        ("book_room", "Book a suite for Ada Lovelace (ada@example.com) for 3 nights"),
    ],
)
def test_the_bundled_model_fills_enum_and_nested_arguments(tools, tool, task):
    arguments = tools[tool].derive(task, task, Scratchpad())
    jsonschema.validate(arguments, tools[tool].input_schema)  # valid by construction
    assert set(arguments) <= set(tools[tool].input_schema["properties"])  # no stray keys
    observation = tools[tool].run(task, task, Scratchpad())
    assert re.match(SERVER_SAYS[tool], observation.text), observation.text


class Script(Planner):
    """Plans fixed in advance, so the test chooses which MCP tools run and in what order."""

    name = "script"

    def __init__(self, steps: list[tuple[str, str]]) -> None:
        self.steps = steps
        self.tool_names = tuple(dict.fromkeys(tool for tool, _ in steps))

    def plan(self, request, scratchpad, history=(), *, only=None):
        tool, task = self.steps[len(scratchpad.steps)]
        return Decision(plan=PlanRecord(context="", thoughts="", task=task, tool=tool))


class Replies(ChatModel):
    """Arguments written in advance: this test is about what the agent does with the
    server's answers (the bundled model's arguments are tested above and below)."""

    name = "replies"

    def __init__(self, *replies: dict) -> None:
        self.replies = list(replies)

    def complete(self, messages, *, schema=None, **settings) -> Completion:
        reply = self.replies.pop(0)
        return Completion(text=json.dumps(reply), parsed=reply, model=self.name)


def test_an_error_result_and_a_crash_fail_their_step_and_the_run_goes_on(toolset):
    model = Replies({"order_id": "B-7"}, {"order_id": "A-1001"})
    tools = {tool.name: tool for tool in toolset.tools(model)}
    steps = [
        ("lookup_order", "Look up the order B-7"),
        ("crash", "Stop the server"),
        ("lookup_order", "Look up the order A-1001"),
    ]
    agent = Agent(Script(steps), [tools["lookup_order"], tools["crash"]], max_steps=3)
    trajectory = agent.run("Where are my orders?")
    error, crashed, found = trajectory.steps
    assert error.error and "no order with the id 'B-7'" in error.error
    assert crashed.error and "the MCP server demo stopped while running crash" in crashed.error
    assert found.error is None and "2 lamps" in found.observation  # started again
    assert trajectory.status == "incomplete"


def test_the_zero_shot_planner_calls_an_mcp_tool(tools, chat_model):
    chosen = [tools[name] for name in SERVER_SAYS]
    agent = Agent(ZeroShotPlanner(chat_model, chosen), chosen, max_steps=1)
    [step] = agent.run("Convert 100 degrees fahrenheit to celsius").steps
    assert step.plan.tool in SERVER_SAYS
    assert re.match(SERVER_SAYS[step.plan.tool], step.error or step.observation), step


# -- lifecycle -----------------------------------------------------------------------------


def test_a_server_starts_lazily_bounds_its_calls_and_stops_with_the_toolset(tmp_path):
    pid_file = tmp_path / "pid"
    toolset = McpToolset([demo(timeout=0.5, env={"DEMO_PID_FILE": str(pid_file)})], tmp_path)
    time.sleep(0.5)
    assert not pid_file.exists()  # nothing starts until the tools are needed
    with toolset:
        wait = {t.name: t for t in toolset.tools(None)}["wait"]
        pid = int(pid_file.read_text())
        with pytest.raises(McpError, match=r"gave no answer within 0.5 s while running wait"):
            wait.connection.call_tool("wait", {"seconds": 2})
        assert wait.connection.call_tool("wait", {"seconds": 0}).content[0].text == "waited 0 s"
        os.kill(pid, 0)  # still the same server
    with pytest.raises(ProcessLookupError):
        os.kill(pid, 0)


@pytest.mark.parametrize(
    ("server", "message"),
    [
        (McpServer(name="gone", command="/nowhere/mcp-server"), "did not start: .*No such file"),
        (
            McpServer(
                name="mute", command=sys.executable, args=["-c", "import time; time.sleep(60)"],
                start_timeout=1,
            ),
            "did not start within 1 s",
        ),
        (McpServer(name="quits", command=sys.executable, args=["-c", "pass"]), "did not start"),
    ],
)  # fmt: skip
def test_a_server_that_cannot_start_is_one_clear_error(tmp_path, server, message):
    with McpToolset([server], tmp_path) as toolset, pytest.raises(McpError, match=message) as e:
        toolset.tools(None)
    assert f"the MCP server {server.name}" in str(e.value) and "\n" not in str(e.value)


# -- a streamable-HTTP server ---------------------------------------------------------------


@pytest.fixture
def http_demo(tmp_path):
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    log = (tmp_path / "http-demo.log").open("w")
    process = subprocess.Popen(
        [sys.executable, str(DEMO), "--http", str(port)], stdout=log, stderr=log
    )
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline and process.poll() is None:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            break
        except OSError:
            time.sleep(0.1)
    try:
        yield f"http://127.0.0.1:{port}/mcp"
    finally:
        process.kill()
        process.wait()
        log.close()


def test_a_streamable_http_server_and_its_crash(http_demo, tmp_path):
    with McpToolset([parse_spec(http_demo)], tmp_path) as toolset:
        tools = {t.name: t for t in toolset.tools(None)}
        assert list(tools) == DEMO_TOOLS
        convert = tools["convert_temperature"].connection.call_tool(
            "convert_temperature", {"value": 0, "unit": "celsius", "to": "kelvin"}
        )
        assert convert.content[0].text == "0 celsius is 273.1 kelvin"
        with pytest.raises(ToolError, match=r"the MCP server 127\.0\.0\.1_"):
            tools["crash"].run("stop", "stop the server", Scratchpad())
        with pytest.raises(McpError, match="did not start"):  # nothing serves that URL now
            tools["wait"].connection.call_tool("wait", {"seconds": 0})
