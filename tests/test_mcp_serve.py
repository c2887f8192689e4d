"""`waypoint mcp serve` as any MCP client sees it: the real command over stdio, driven by the
SDK's own client, with the agent on the bundled model."""

import os
import sys
from pathlib import Path

import anyio
from mcp import Client, StdioServerParameters

from models.matcher import grammar_accepts
from planner.mcp_server import AskResult

WAYPOINT = str(Path(sys.executable).with_name("waypoint"))
TOOLS = {"calculate", "final_answer"}


def test_waypoint_serves_its_agent_and_its_grammar_compiler(tmp_path, vocab):
    env = os.environ | {"WAYPOINT_HOME": str(tmp_path), "HF_HUB_OFFLINE": "1"}
    args = ["mcp", "serve", "--model", "smollm2-135m", "--planner", "zero-shot"]
    args += ["--tools", ",".join(sorted(TOOLS)), "--max-steps", "1"]
    server = StdioServerParameters(command=WAYPOINT, args=args, env=env)
    color = {"type": "object", "properties": {"color": {"enum": ["red", "green"]}}}

    async def session() -> None:
        with anyio.fail_after(300):
            async with Client(server) as client:
                await exchange(client)

    async def exchange(client: Client) -> None:
        listed = await client.list_tools()
        assert [tool.name for tool in listed.tools] == ["ask", "compile_grammar"]

        compiled = await client.call_tool("compile_grammar", {"schema": color})
        assert not compiled.is_error, compiled.content
        gbnf = compiled.structured_content["gbnf"]
        assert grammar_accepts(vocab, gbnf, '{"color":"green"}')
        assert not grammar_accepts(vocab, gbnf, '{"color":"blue"}')
        refused = await client.call_tool(
            "compile_grammar", {"schema": {"type": "array", "$dynamicRef": "#items"}}
        )
        assert refused.is_error and "'$dynamicRef'" in refused.content[0].text

        empty = await client.call_tool("ask", {"request": ""})
        assert empty.is_error
        asked = await client.call_tool("ask", {"request": "What is 17 * 23?"})
        assert not asked.is_error, asked.content
        result = AskResult.model_validate(asked.structured_content)
        assert len(result.steps) == 1
        assert all(step.plan.tool in TOOLS for step in result.steps)
        assert (result.answer is not None) == (result.status == "answered")

    anyio.run(session)
