"""The `waypoint` command: one sub-command group per library folder. It wires, it does not
implement; heavy imports happen inside the commands so `waypoint --help` stays instant."""

import sys

import typer
from rich.console import Console

from schemas.errors import WaypointError
from waypoint.commands import (
    agent,
    evals,
    finetune,
    grammar,
    index,
    mcp,
    models,
    pipeline,
    quantize,
    simulate,
    tools,
)

app = typer.Typer(
    name="waypoint",
    help="A grammar-constrained local planning agent.",
    no_args_is_help=True,
    rich_markup_mode="rich",
    pretty_exceptions_show_locals=False,
    context_settings={"help_option_names": ["-h", "--help"]},
)
app.add_typer(grammar.app, name="grammar")
app.add_typer(index.app, name="index")
app.add_typer(models.app, name="models")
app.add_typer(simulate.app, name="simulate")
app.add_typer(finetune.app, name="finetune")
app.add_typer(evals.app, name="eval")
app.add_typer(quantize.app, name="quantize")
app.add_typer(tools.app, name="tools")
app.add_typer(mcp.app, name="mcp")
app.command("export")(quantize.export_command)
app.command("chat")(agent.chat_command)
app.command("ask")(agent.ask_command)
app.command("pipeline")(pipeline.pipeline_command)


def main() -> None:
    try:
        app()
    except WaypointError as e:
        Console(stderr=True).print(f"[bold red]error:[/] {e}", highlight=False, soft_wrap=True)
        sys.exit(e.exit_code)
