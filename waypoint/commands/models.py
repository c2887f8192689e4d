"""`waypoint models`: the named models, their download, and what a GGUF file holds."""

from pathlib import Path
from typing import Annotated

import typer

from waypoint.commands.gpu import GpuLayers, announce_model, gpu_layers

app = typer.Typer(
    help="List, download and inspect models (registry: models/registry.toml).",
    no_args_is_help=True,
)


@app.command("list")
def list_command() -> None:
    """Show every named model and whether it is ready on this machine.

    Example:

      waypoint models list
    """
    from rich.console import Console
    from rich.table import Table

    from models.registry import registry, status, user_registry_path

    table = Table("name", "backend", "status", "description", title="models")
    for name, entry in registry().items():
        table.add_row(name, entry.backend, status(name, entry), entry.description)
    console = Console()
    console.print(table)
    console.print(f"your own entries: {user_registry_path()}", style="dim")


@app.command("pull")
def pull_command(
    name: Annotated[str, typer.Argument(help="a registry name (see `waypoint models list`)")],
) -> None:
    """Download a model from the Hugging Face Hub into its cache (nothing if already there).

    Examples:

      waypoint models pull mistral-7b-instruct-q4

      HF_HUB_OFFLINE=1 waypoint models pull mistral-7b-instruct-q4   # refuses: offline
    """
    from models.registry import pull

    typer.echo(pull(name))


@app.command("info")
def info_command(
    model: Annotated[
        str | None, typer.Argument(help="a registry name or a FILE.gguf (none: llama.cpp only)")
    ] = None,
) -> None:
    """Read a GGUF's header: architecture, parameters, quantization, context, template; and
    say which backends the installed llama.cpp has (CUDA, Metal, CPU, ...).

    Examples:

      waypoint models info

      waypoint models info smollm2-135m

      waypoint models info ./exports/planner-q4_k_m.gguf
    """
    from rich.console import Console
    from rich.table import Table

    from models.gguf_info import read_gguf_info
    from models.offload import backend_summary
    from models.registry import OpenAIEntry, entry_for, local_file

    console = Console()
    table = Table("field", "value", title=model or "llama.cpp", show_header=False)
    table.columns[1].overflow = "fold"
    table.add_row("llama.cpp", backend_summary())
    if model is None:
        console.print(table)
        return
    path = Path(model).expanduser()
    if not path.is_file() and not model.endswith(".gguf"):
        entry = entry_for(model)
        if isinstance(entry, OpenAIEntry):
            for key, value in entry.model_dump().items():
                table.add_row(key, str(value))
            console.print(table)
            return
        path = local_file(model, entry)
    info = read_gguf_info(path)
    for key, value in info.model_dump().items():
        table.add_row(key, _human(key, value))
    console.print(table)


@app.command("run")
def run_command(
    model: Annotated[str, typer.Argument(help="a registry name or a FILE.gguf")],
    prompt: Annotated[str, typer.Argument(help="the user message")],
    decoder: Annotated[
        str | None,
        typer.Option(help="fast, exact or plain: the decode loop (default: the model's)"),
    ] = None,
    plan: Annotated[
        str | None,
        typer.Option(help="constrain to a planner Plan over these comma-separated tool names"),
    ] = None,
    max_tokens: Annotated[int, typer.Option(min=1)] = 256,
    temperature: Annotated[float, typer.Option(min=0.0)] = 0.0,
    threads: Annotated[int | None, typer.Option(min=1, help="llama.cpp threads")] = None,
    gpu: GpuLayers = None,
) -> None:
    """Generate one reply, and say how fast: a quick check of a model and its decoder.

    Examples:

      waypoint models run smollm2-135m "Name three rivers."

      waypoint models run smollm2-135m "Mail Ana." --plan calculate,send_email --decoder plain
    """
    from rich.console import Console

    from models.chat_model import ModelError
    from models.registry import load_chat_model
    from schemas.chat import user
    from schemas.plan import plan_model

    tools = [t.strip() for t in (plan or "").split(",") if t.strip()]
    if plan is not None and not tools:
        raise typer.BadParameter("name at least one tool", param_hint="--plan")
    overrides = {k: v for k, v in {"decoder": decoder, "n_threads": threads}.items() if v}
    try:
        chat_model = load_chat_model(model, gpu_layers=gpu_layers(gpu), **overrides)
    except TypeError as e:  # a remote backend has neither
        raise ModelError(f"--decoder and --threads are for in-process models, not {model}") from e
    announce_model(chat_model)
    schema = plan_model(tools) if tools else None
    completion = chat_model.complete(
        [user(prompt)], schema=schema, max_tokens=max_tokens, temperature=temperature
    )
    typer.echo(completion.text)
    speed = completion.timings.tokens_per_second(completion.completion_tokens)
    summary = f"{completion.completion_tokens} tokens, {speed:.1f} tok/s"
    Console(stderr=True).print(summary, style="dim")


def _human(key: str, value: object) -> str:
    if key == "size_bytes" and isinstance(value, int):
        return f"{value / 2**20:,.1f} MiB"
    if key == "parameters" and isinstance(value, int):
        return f"{value / 1e6:,.1f} M"
    return str(value)
