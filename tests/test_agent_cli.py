"""`waypoint ask` and `waypoint chat` as a user runs them: real processes on the bundled
model, the chat driven through a pseudo-terminal."""

import os
import re
import subprocess
import sys
from pathlib import Path

import pexpect
import pytest

from planner.transcript import load_transcript
from schemas.trajectory import Trajectory

WAYPOINT = str(Path(sys.executable).with_name("waypoint"))
TOOLS = "calculate,final_answer"
DEMO_MCP = f"{sys.executable} {Path(__file__).parent / 'mcp_servers' / 'demo.py'}"


@pytest.fixture
def env(tmp_path):
    return os.environ | {"WAYPOINT_HOME": str(tmp_path), "HF_HUB_OFFLINE": "1"}


def waypoint(*args: str, env: dict) -> subprocess.CompletedProcess:
    return subprocess.run(
        [WAYPOINT, *args], capture_output=True, text=True, env=env, timeout=600, check=False
    )


def test_ask_json_prints_the_whole_trajectory(env):
    run = waypoint(
        "ask", "What is 17 * 23?", "--json", "--max-steps", "2", "--tools", TOOLS, env=env
    )
    trajectory = Trajectory.model_validate_json(run.stdout)
    assert trajectory.request == "What is 17 * 23?" and 1 <= len(trajectory.steps) <= 2
    assert all(s.plan.tool in TOOLS.split(",") for s in trajectory.steps)
    assert run.returncode == (0 if trajectory.status == "answered" else 1), run.stderr


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--tools", "calculate,teleport"], "no tool named 'teleport'"),
        (["--model", "/nowhere/model.gguf"], "no such model file"),
        (["--model", "no-such-model"], "unknown model 'no-such-model'"),
    ],
)
def test_bad_input_is_one_clear_line(env, args, message):
    run = waypoint("ask", "hi", *args, env=env)
    assert run.returncode == 2 and run.stdout == ""
    assert message in run.stderr and "Traceback" not in run.stderr
    assert len(run.stderr.strip().splitlines()) == 1


def test_chat_in_a_terminal(env, tmp_path):
    chat = pexpect.spawn(
        WAYPOINT, ["chat", "--max-steps", "2", "--tools", TOOLS],
        env=env, encoding="utf-8", timeout=300, dimensions=(50, 200),
    )  # fmt: skip
    try:
        chat.expect("you›")
        chat.sendline("/tools")
        chat.expect("Computes a number")  # (colour codes sit between name and description)
        chat.expect("you›")
        chat.sendline("What is 17 * 23?")
        chat.expect("step 1")
        chat.expect("calculate|final_answer")
        chat.expect(["answered in", "incomplete:", "failed:"])
        chat.expect("you›")
        saved = tmp_path / "chat.jsonl"
        chat.sendline(f"/save {saved}")
        chat.expect("saved 1 requests")
        chat.expect("you›")
        chat.sendline("/quit")
        chat.expect(pexpect.EOF)
    finally:
        chat.close()
    assert chat.exitstatus == 0
    [turn] = load_transcript(saved)
    assert turn.request == "What is 17 * 23?" and turn.steps


# -- --mcp: the demo MCP server over stdio -------------------------------------------------


def test_tools_list_shows_every_tool_with_its_source(env):
    run = waypoint("tools", "list", "--mcp", DEMO_MCP, env=env)
    assert run.returncode == 0, run.stderr
    rows = dict(re.findall(r"^ ?(\S+) +(waypoint|mcp:\S+) ", run.stdout, re.MULTILINE))
    assert rows["calculate"] == "waypoint" and rows["final_answer"] == "waypoint"
    assert all(rows[name] == "mcp:demo" for name in ("convert_temperature", "book_room", "crash"))
    assert "tag_items" not in rows
    assert re.search(r"MCP tool tag_items \(demo\) left out: keyword '\$dynamicRef'", run.stdout)


def test_ask_takes_mcp_tools_by_name(env):
    """The servers' tools join the registry behind `--tools` (a call through the agent is
    tested in process, in test_mcp_client.py)."""
    run = waypoint(
        "ask", "hi", "--mcp", DEMO_MCP, "--model", "smollm2-135m", "--tools", "teleport", env=env
    )
    assert run.returncode == 2 and "Traceback" not in run.stderr
    assert "no tool named 'teleport'" in run.stderr and "convert_temperature" in run.stderr


@pytest.mark.parametrize(
    ("spec", "message"),
    [
        ("python 'unclosed", "the --mcp spec"),
        ("/nowhere/mcp-server --stdio", "the MCP server mcp-server (/nowhere/mcp-server --stdio)"),
    ],
)
def test_a_bad_mcp_server_is_one_clear_line(env, spec, message):
    run = waypoint("tools", "list", "--mcp", spec, env=env)
    assert run.returncode == 2 and "Traceback" not in run.stderr
    assert message in run.stderr and len(run.stderr.strip().splitlines()) == 1, run.stderr
