"""One attempt at a case: derive the call, execute it with the real tool, judge the effect.

Two paths are measured. `shipped` is the tool as it ships: its rules read the task where
they can, the model writes the arguments where they cannot. `model` is the model path
alone (what a trained tool caller changes): the model writes the arguments for every task.
The tools write into a folder of their own (outbox, calendar), which the judge reads back;
`convert_units` is the MCP server's tool, reached over stdio as any MCP tool is.
"""

import json
import sys
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel

from models.chat_model import ChatModel
from schemas.errors import WaypointError
from tools.calculate import Calculate
from tools.calls.cases import Case, ToolName
from tools.create_event import CreateEvent
from tools.function_calling import ArgumentTool
from tools.send_email import SendEmail

CallPath = Literal["shipped", "model"]
UNITS_SERVER = [sys.executable, "-m", "tools.convert_units"]


class Outcome(BaseModel):
    case_id: str
    tool: str
    path: CallPath
    ok: bool
    reason: str
    arguments: str | None = None  # the call as JSON, when one was written
    seconds: float


@contextmanager
def toolbox(
    model: ChatModel | None, home: Path, names: Sequence[ToolName]
) -> Iterator[dict[str, ArgumentTool]]:
    """The named tools with `model` writing their arguments, acting inside `home`."""
    tools: dict[str, ArgumentTool] = {}
    native = {
        "send_email": lambda: SendEmail(model, home / "outbox"),
        "create_event": lambda: CreateEvent(model, home / "calendar"),
        "calculate": lambda: Calculate(model),
    }
    for name in names:
        if name in native:
            tools[name] = native[name]()
    if "convert_units" not in names:
        yield tools
        return
    from tools.mcp.servers import McpServer
    from tools.mcp.toolset import McpToolset

    server = McpServer(
        name="units", command=UNITS_SERVER[0], args=UNITS_SERVER[1:], start_timeout=120
    )
    with McpToolset([server], home) as toolset:
        tools.update({t.name: t for t in toolset.tools(model)})
        yield tools


def attempt(tool: ArgumentTool, case: Case, path: CallPath) -> Outcome:
    """Run `case` on `tool` by `path`; every failure (no call, a call the tool refused, the
    wrong effect) is an outcome, never an exception."""
    start, arguments = time.perf_counter(), None
    try:
        if path == "shipped":
            observation = tool.run(case.request, case.task, case.scratchpad)
        else:
            call = tool.derive(case.request, case.task, case.scratchpad)
            arguments = call_json(call)
            observation = tool.execute(call)
        verdict = case.intent.judge(observation.text)
        ok, reason = verdict.ok, verdict.reason
    except WaypointError as e:
        ok, reason = False, f"{type(e).__name__}: {e}"
    return Outcome(
        case_id=case.id, tool=case.tool, path=path, ok=ok, reason=reason[:300],
        arguments=arguments, seconds=round(time.perf_counter() - start, 2),
    )  # fmt: skip


def parse_call(tool: ArgumentTool, call: dict[str, Any]) -> Any:
    """Arguments as `tool.execute` takes them: an instance of its argument class, or the
    JSON object itself for an MCP tool."""
    schema = tool.argument_schema
    return call if isinstance(schema, dict) else schema.model_validate(call)


def call_json(call: Any) -> str:
    """The arguments as the JSON a tool caller writes (field order as declared)."""
    if isinstance(call, BaseModel):
        return call.model_dump_json()
    return json.dumps(call, ensure_ascii=False, separators=(",", ":"))


class Accuracy(BaseModel):
    cases: int
    overall: float
    per_tool: dict[str, float]


def measure(model: ChatModel, cases: Sequence[Case], path: CallPath, home: Path) -> list[Outcome]:
    """Every case attempted once, greedily, by `path`."""
    with toolbox(model, home, sorted({c.tool for c in cases})) as tools:
        return [attempt(tools[case.tool], case, path) for case in cases]


def accuracy(outcomes: Sequence[Outcome]) -> Accuracy:
    by_tool: dict[str, list[bool]] = {}
    for outcome in outcomes:
        by_tool.setdefault(outcome.tool, []).append(outcome.ok)
    return Accuracy(
        cases=len(outcomes),
        overall=round(sum(o.ok for o in outcomes) / max(1, len(outcomes)), 3),
        per_tool={tool: round(sum(oks) / len(oks), 3) for tool, oks in sorted(by_tool.items())},
    )
