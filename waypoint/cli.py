"""The `waypoint` command: one sub-command group per library folder. It wires, it does not
implement; heavy imports happen inside the commands so `waypoint --help` stays instant."""

import sys
from importlib.metadata import version
from typing import Annotated

import typer
from rich.console import Console
from rich.markup import escape

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
    help=(
        "A grammar-constrained local planning agent.\n\n"
        "Logs go to waypoint.log in the run folder of a long job (simulate, finetune, eval, "
        "pipeline), else to $WAYPOINT_HOME/logs/waypoint.log; --verbose or "
        "WAYPOINT_LOG=debug|info|warning|error sets what the terminal shows."
    ),
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


def _print_version(asked: bool) -> None:
    if asked:
        typer.echo(f"waypoint {version('waypoint')}")
        raise typer.Exit()


@app.callback()
def options(
    verbose: Annotated[
        bool, typer.Option("--verbose", "-v", help="log details to the terminal too")
    ] = False,
    _version: Annotated[
        bool,
        typer.Option("--version", callback=_print_version, is_eager=True, help="print the version"),
    ] = False,
) -> None:
    """Options before any command."""
    from waypoint.logs import configure, log

    configure(verbose)
    log.debug("command: waypoint %s", " ".join(sys.argv[1:]))


def main() -> None:
    """Bad input (a WaypointError, or options click refuses): one line and its exit code.
    A bug: one line naming the log that holds the traceback, exit 1."""
    from waypoint.logs import configure, error_line

    err = Console(stderr=True, highlight=False, soft_wrap=True)
    try:
        configure()
        code = app(standalone_mode=False)  # usage errors come here, not as click's panel
    except typer.TyperException as e:
        if type(e).__name__ != "NoArgsIsHelpError":  # that one has printed the help already
            where = getattr(e, "ctx", None)
            hint = f" (see {where.command_path} --help)" if where is not None else ""
            err.print(escape(f"error: {e.format_message()}{hint}"), style="bold red")
        sys.exit(e.exit_code)
    except typer.Abort:
        err.print("aborted")
        sys.exit(1)
    except WaypointError as e:
        err.print(escape(error_line(e)), style="bold red")
        sys.exit(e.exit_code)
    except Exception as e:
        err.print(escape(error_line(e)), style="bold red")
        sys.exit(1)
    sys.exit(code if isinstance(code, int) else 0)
