"""`waypoint chat` and `waypoint ask`: the agent on the bundled model, or any named one.

The commands wire a model, the tools and a planner into an `Agent` and show its events;
the loop itself lives in `planner.agent`.
"""

from enum import StrEnum
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich.console import Console
from rich.markup import escape

from waypoint.commands.gpu import GpuLayers

if TYPE_CHECKING:
    from rich.status import Status

    from planner.agent import Agent
    from planner.events import Event
    from tools.context import AskUser
    from tools.mcp.toolset import McpToolset
    from waypoint.config import ChatSettings

OBSERVATION_CHARS = 400  # shown per step; the full text is in the trajectory


class PlannerKind(StrEnum):
    zero_shot = "zero-shot"
    fine_tuned = "fine-tuned"


# Every option defaults to None, "not given": the value then comes from waypoint.config
# (environment, config file, defaults), where the defaults live.
Model = Annotated[
    str | None,
    typer.Option("--model", "-m", help="a registry name or a .gguf file (default: the config's)"),
]
PlannerOption = Annotated[
    PlannerKind | None,
    typer.Option(
        "--planner",
        help="zero-shot for any instruct model (default: the prompt the model was trained for)",
    ),
]
ToolNames = Annotated[
    str | None,
    typer.Option("--tools", help="comma-separated tool names (default: every available tool)"),
]
MaxSteps = Annotated[
    int | None, typer.Option("--max-steps", min=1, help="steps before giving up (default 10)")
]
IndexDir = Annotated[
    Path | None,
    typer.Option("--index", help="index folder for search_wikipedia (default: the bundled corpus)"),
]
Searxng = Annotated[
    str | None,
    typer.Option("--searxng", help="SearXNG URL for search_internet (or WAYPOINT_SEARXNG_URL)"),
]
Threads = Annotated[
    int | None, typer.Option("--threads", min=1, help="llama.cpp threads for a local model")
]
McpSpecs = Annotated[
    list[str] | None,
    typer.Option(
        "--mcp",
        help='an MCP server whose tools join the agent\'s: "COMMAND ARGS" (stdio, with optional '
        "leading VAR=value words) or an http(s) URL (streamable HTTP); repeatable",
    ),
]


def mcp_toolset(specs: list[str] | None) -> "McpToolset":
    """The MCP servers named with --mcp (none starts until its tools are listed); use it in
    a `with` block so they stop when the command ends. Their logs go to WAYPOINT_HOME/logs."""
    from models.registry import waypoint_home
    from tools.mcp.servers import parse_specs
    from tools.mcp.toolset import McpToolset

    return McpToolset(parse_specs(specs or []), waypoint_home() / "logs")


def chat_settings(
    model: str | None = None,
    planner: PlannerKind | None = None,
    tool_names: str | None = None,
    max_steps: int | None = None,
    index: Path | None = None,
    searxng: str | None = None,
    mcp: list[str] | None = None,
    threads: int | None = None,
    gpu_layers: int | None = None,
) -> "ChatSettings":
    """The agent's settings: these flags where given, else waypoint.config's."""
    from waypoint.config import load_chat_settings

    names = [n.strip() for n in tool_names.split(",") if n.strip()] if tool_names else None
    return load_chat_settings(
        model=model, planner=str(planner) if planner else None, tools=names,
        max_steps=max_steps, index=index, searxng_url=searxng, mcp_servers=mcp or None,
        threads=threads, gpu_layers=gpu_layers,
    )  # fmt: skip


def build_agent(
    settings: "ChatSettings", *, ask: "AskUser", mcp: "McpToolset | None" = None
) -> "Agent":
    """Model, tools and planner; a model server that is not there, a missing index or an
    unknown tool fails here, before the first request."""
    from models.registry import (
        OpenAIEntry,
        load_chat_model,
        planner_prompt,
        registry,
        worked_examples,
    )
    from planner.agent import Agent
    from planner.examples import ExampleBank
    from planner.kinds import PLANNERS
    from tools.context import ToolContext
    from tools.registry import load_tools
    from waypoint.commands.gpu import announce_model

    remote = isinstance(registry().get(settings.model), OpenAIEntry)
    model = load_chat_model(settings.model, **settings.model_options(remote))
    model.check()
    context = ToolContext(
        model=model, searxng_url=settings.searxng_url, index_dir=settings.index, ask=ask,
        fetch_private=settings.fetch_private,
    )  # fmt: skip
    tools = load_tools(context, settings.tools, mcp)
    kind = settings.planner or planner_prompt(settings.model)
    examples = worked_examples(settings.model)
    bank = ExampleBank.load(examples) if examples else None
    agent = Agent(PLANNERS[kind](model, tools, examples=bank), tools, settings.max_steps)
    announce_model(model)  # once the settings hold: bad input stays one line
    return agent


class StepView:
    """Shows a run as it happens: each plan, tool and result, then the answer."""

    def __init__(self, console: Console) -> None:
        self.console = console
        self.spinner: Status | None = None

    def __call__(self, event: "Event") -> None:
        from planner.events import PlanMade, RunFinished, RunStarted, ToolFinished, ToolStarted

        match event:
            case RunStarted():
                self._spin("planning")
            case PlanMade(step=number, plan=plan):
                self._stop()
                self.console.print(
                    f"[bold cyan]step {number}[/] [magenta]{plan.tool}[/] {escape(plan.task)}"
                )
                self.console.print(f"  [dim]thoughts: {escape(plan.thoughts)}[/]")
            case ToolStarted(tool=tool):
                self._spin(f"running {tool}")
            case ToolFinished(final=False, observation=text, error=error):
                self._stop()
                style = "red" if error else "green"
                self.console.print(f"  [{style}]→[/] {escape(_clip(text))}")
                self._spin("planning")
            case ToolFinished(final=True, observation=text):
                self._stop()
                self.console.print(f"[bold green]answer:[/] {escape(text)}")
            case RunFinished(trajectory=trajectory):
                self._stop()
                self._summary(trajectory.status, trajectory.reason, len(trajectory.steps))

    def ask(self, question: str) -> str:
        """ask_user's callback: a question from the agent, answered at the prompt."""
        self._stop()
        self.console.print(f"[bold yellow]waypoint asks:[/] {escape(question)}")
        reply = self.console.input("[bold yellow]your answer›[/] ")
        self._spin("running ask_user")
        return reply

    def _summary(self, status: str, reason: str | None, steps: int) -> None:
        if status == "answered":
            self.console.print(f"[dim]answered in {steps} step{'s' * (steps != 1)}[/]")
        else:
            colour = "yellow" if status == "incomplete" else "red"
            self.console.print(f"[bold {colour}]{status}:[/] {escape(reason or '')}")

    def _spin(self, what: str) -> None:
        self._stop()
        if self.console.is_terminal:
            self.spinner = self.console.status(f"{what}…")
            self.spinner.start()

    def _stop(self) -> None:
        if self.spinner is not None:
            self.spinner.stop()
            self.spinner = None


def _clip(text: str) -> str:
    return text if len(text) <= OBSERVATION_CHARS else text[:OBSERVATION_CHARS] + "…"


def _no_user(question: str) -> str:
    raise EOFError  # ask_user turns this into "the user cannot be asked"


def ask_command(
    request: Annotated[str, typer.Argument(help="what to ask the agent")],
    json_output: Annotated[
        bool, typer.Option("--json", help="print only the trajectory, as JSON")
    ] = False,
    model: Model = None,
    planner: PlannerOption = None,
    tools: ToolNames = None,
    max_steps: MaxSteps = None,
    index: IndexDir = None,
    searxng: Searxng = None,
    mcp: McpSpecs = None,
    threads: Threads = None,
    gpu_layers: GpuLayers = None,
) -> None:
    """Run one request through the agent and print each step and the answer.

    Exits 0 when the request was answered, 1 when the run ended without an answer.

    Examples:

      waypoint ask "What is 17 * 23?"

      waypoint ask "Who discovered penicillin?" --json > run.json

      waypoint ask "What time is it in Tokyo?" --mcp "uvx mcp-server-time"
    """
    from planner.agent import RunInterrupted

    settings = chat_settings(
        model, planner, tools, max_steps, index, searxng, mcp, threads, gpu_layers
    )
    console = Console(highlight=False)  # numbers in observations stay plain text
    view = None if json_output else StepView(console)
    interactive = view is not None and console.is_terminal
    with mcp_toolset(settings.mcp_servers) as toolset:
        agent = build_agent(settings, ask=view.ask if interactive else _no_user, mcp=toolset)
        _refused(toolset, Console(stderr=True, highlight=False))
        if view:
            agent.subscribe(view)
        try:
            trajectory = agent.run(request)
        except RunInterrupted as interrupted:
            trajectory = interrupted.trajectory
    if json_output:
        typer.echo(trajectory.model_dump_json(indent=2))
    raise typer.Exit(0 if trajectory.status == "answered" else 1)


HELP = """\
/tools        the tools the planner can choose
/model        the model and planner in use
/reset        forget the conversation so far
/save FILE    write the conversation as JSONL (one trajectory per request)
/load FILE    continue a saved conversation
/quit         leave (also Ctrl-D)"""


def chat_command(
    model: Model = None,
    planner: PlannerOption = None,
    tools: ToolNames = None,
    max_steps: MaxSteps = None,
    index: IndexDir = None,
    searxng: Searxng = None,
    mcp: McpSpecs = None,
    threads: Threads = None,
    gpu_layers: GpuLayers = None,
) -> None:
    """Chat with the agent in the terminal; each step is shown as it happens.

    Commands: /tools, /model, /reset, /save FILE, /load FILE, /quit. Ctrl-C stops the
    current request and keeps its finished steps. MCP servers (--mcp) stop when the chat ends.

    Examples:

      waypoint chat --tools calculate,final_answer

      waypoint chat --mcp "uvx mcp-server-time" --mcp http://127.0.0.1:8000/mcp
    """
    settings = chat_settings(
        model, planner, tools, max_steps, index, searxng, mcp, threads, gpu_layers
    )
    console = Console(highlight=False)  # numbers in observations stay plain text
    view = StepView(console)
    with mcp_toolset(settings.mcp_servers) as toolset:
        with console.status("loading…"):
            agent = build_agent(settings, ask=view.ask, mcp=toolset)
        _refused(toolset, console)
        agent.subscribe(view)
        console.print(
            f"[bold]waypoint[/] · {escape(agent.planner.model_name or '?')} · "
            f"{agent.planner.name} planner · {len(agent.tools)} tools · /help for commands"
        )
        _converse(agent, console)


def _refused(toolset: "McpToolset", console: Console) -> None:
    for line in toolset.refused:
        console.print(f"[yellow]{escape(line)}[/]")


def _converse(agent: "Agent", console: Console) -> None:
    """The chat loop: a request or a slash command per line, until /quit or Ctrl-D."""
    from planner.agent import RunInterrupted
    from waypoint.logs import error_line

    while True:
        try:
            line = console.input("[bold]you›[/] ").strip()
        except (EOFError, KeyboardInterrupt):
            console.print()
            return
        if line.startswith("/"):
            if not _command(line, agent, console):
                return
        elif line:
            try:
                agent.chat(line)
            except RunInterrupted:
                console.print("[yellow]interrupted:[/] the finished steps are kept")
            except Exception as e:  # whatever a tool, model or server did: the chat goes on
                console.print(escape(error_line(e)), style="red")


def _command(line: str, agent: "Agent", console: Console) -> bool:
    """Carry out a slash command; False when the chat should end."""
    from planner.transcript import load_transcript, save_transcript
    from schemas.errors import WaypointError
    from waypoint.commands.tools import tool_source

    name, _, argument = line.partition(" ")
    argument = argument.strip()
    match name:
        case "/quit" | "/exit":
            return False
        case "/help":
            console.print(HELP, markup=False)
        case "/tools":
            for tool in agent.tools.values():
                source = tool_source(tool)
                source = "" if source == "waypoint" else f" [dim]({source})[/]"
                console.print(f"[magenta]{tool.name}[/]{source}: {escape(tool.description)}")
        case "/model":
            console.print(
                f"model {escape(agent.planner.model_name or '?')} · {agent.planner.name} "
                f"planner · at most {agent.max_steps} steps per request"
            )
        case "/reset":
            agent.reset()
            console.print("the conversation is cleared")
        case "/save" | "/load" if not argument:
            console.print(f"usage: {name} FILE")
        case "/save":
            try:
                save_transcript(Path(argument).expanduser(), agent.turns)
            except OSError as e:
                console.print(f"[red]cannot save:[/] {escape(str(e))}")
            else:
                console.print(f"saved {len(agent.turns)} requests to {escape(argument)}")
        case "/load":
            try:
                agent.turns = load_transcript(Path(argument).expanduser())
            except (OSError, ValueError, WaypointError) as e:
                console.print(f"[red]cannot load:[/] {escape(str(e))}")
            else:
                console.print(f"loaded {len(agent.turns)} requests from {escape(argument)}")
        case _:
            console.print(f"unknown command {escape(name)}; /help lists them")
    return True
