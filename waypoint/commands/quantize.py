"""`waypoint export` and `waypoint quantize`: a merged model to GGUF, GGUF to quantized
files, and the check that quantization kept the planner's decisions."""

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Annotated, Any

import typer

from models.bundled import BUNDLED_NAME
from waypoint.commands.default_group import group_defaulting_to

DEFAULT_COMMAND = "run"

app = typer.Typer(
    cls=group_defaulting_to(DEFAULT_COMMAND),
    help="Quantize GGUF files with llama.cpp and verify them against the full-precision model.",
    no_args_is_help=True,
)


@contextmanager
def _progress(transient: bool = False) -> Iterator[Any]:
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    columns = (
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
    )
    with Progress(*columns, transient=transient) as progress:
        yield progress


def _bar(progress: Any, description: str) -> Any:
    """A progress callback (name, done, total) for one task of `progress`."""
    task = progress.add_task(description, total=None)
    return lambda _name, done, total: progress.update(task, completed=done, total=total)


def export_command(
    model_dir: Annotated[
        Path,
        typer.Argument(help="a Hugging Face model folder (merged fine-tune) or a LoRA adapter"),
    ],
    out: Annotated[Path, typer.Option("--out", "-o", help="the GGUF file to write")],
    dtype: Annotated[str, typer.Option(help="f16, bf16 or f32")] = "f16",
    name: Annotated[str | None, typer.Option(help="registry name (default: from --out)")] = None,
    register: Annotated[bool, typer.Option(help="add the file to the model registry")] = True,
    base: Annotated[
        str, typer.Option(help="an adapter's GGUF base: the bundled model or a .gguf file")
    ] = BUNDLED_NAME,
) -> None:
    """Convert a Hugging Face model folder to one GGUF file (tokenizer and chat template
    included) and register it by name. A LoRA adapter folder (what `waypoint finetune`
    writes) becomes a GGUF adapter of a few MB instead, registered as a fine-tuned planner
    that llama.cpp applies to BASE at load.

    Examples:

      waypoint export runs/planner/merged --out planner.f16.gguf

      waypoint export runs/planner/merged --out planner.bf16.gguf --dtype bf16 --name planner

      waypoint export runs/rpo/adapter --out rpo.lora.gguf --name rpo.lora

      waypoint eval run -p fine-tuned:rpo.lora -r atlas:2:48:heldout
    """
    from quantize.lora import ADAPTER_CONFIG

    if (model_dir / ADAPTER_CONFIG).is_file():
        _export_adapter(model_dir, out, name, base, register)
        return
    from quantize.export import export
    from quantize.register import register as add_to_registry

    with _progress() as progress:
        result = export(model_dir, out, dtype=dtype, on_tensor=_bar(progress, f"export {dtype}"))  # type: ignore[arg-type]
    typer.echo(
        f"wrote {result.path} ({result.architecture}, {result.tensors} tensors, "
        f"{result.size_bytes / 2**20:.1f} MiB)"
    )
    if register:
        registered = add_to_registry(
            result.path,
            name,
            description=f"{model_dir.name} exported at {dtype}",
            source=str(model_dir.resolve()),
            quantization=dtype.upper(),
        )
        typer.echo(f"registered as {registered}")


def _export_adapter(adapter: Path, out: Path, name: str | None, base: str, register: bool) -> None:
    """The adapter as a GGUF LoRA, registered over its base as the pipeline registers its
    own (`Pipeline.adapter`, `register_planner`)."""
    from quantize.errors import ExportError
    from quantize.lora import export_lora
    from quantize.register import default_name
    from waypoint.pipeline import gguf_base, register_planner

    base_file = gguf_base(base)
    if base_file is None or not base_file.is_file():
        raise ExportError(f"--base {base}: an adapter needs a GGUF base (bundled or a .gguf file)")
    result = export_lora(adapter, out)
    typer.echo(
        f"wrote {result.path} (LoRA of {result.architecture}, rank {result.rank}, "
        f"{result.tensors} tensors, {result.size_bytes / 2**20:.1f} MiB)"
    )
    if register:
        registered = register_planner(
            base_file,
            name or default_name(out),
            lora=str(out.resolve()),
            source=str(adapter.resolve()),
        )
        typer.echo(f"registered as {registered} (fine-tuned planner: {base} + {out.name})")


@app.command(DEFAULT_COMMAND)
def quantize_command(
    file: Annotated[Path, typer.Argument(help="a GGUF file at f16, bf16 or f32")],
    types: Annotated[
        str, typer.Option("--type", "-t", help="comma-separated: Q8_0,Q4_K_M,…")
    ] = "Q8_0,Q4_K_M",
    out_dir: Annotated[
        Path | None, typer.Option(help="where to write (default: beside FILE)")
    ] = None,
    name: Annotated[
        str | None, typer.Option(help="registry name prefix (default: from the file names)")
    ] = None,
    register: Annotated[bool, typer.Option(help="add the files to the model registry")] = True,
) -> None:
    """Quantize FILE with llama.cpp's quantizer, one file per type (the default command).

    Examples:

      waypoint quantize planner.f16.gguf --type Q8_0,Q4_K_M

      waypoint quantize planner.f16.gguf -t Q5_K_M --out-dir dist --name planner
    """
    from rich.console import Console
    from rich.table import Table

    from quantize.quantize import parse_types, quantize
    from quantize.register import register as add_to_registry

    names = parse_types(types)  # an unknown type fails before any work
    with _progress() as progress:
        results = quantize(file, names, out_dir=out_dir, on_tensor=lambda t: _bar(progress, t))
    table = Table(
        "type",
        "file",
        "size MiB",
        "of source",
        "fallback tensors",
        "registered as",
        title="quantized",
    )
    for q in results:
        registered = ""
        if register:
            registered = add_to_registry(
                q.path,
                f"{name}-{q.type.lower()}" if name else None,
                description=f"{file.name} quantized to {q.type}",
                source=str(file.resolve()),
                quantization=q.type,
            )
        table.add_row(
            q.type,
            str(q.path),
            f"{q.size_bytes / 2**20:.1f}",
            f"{q.size_bytes / q.source_bytes:.0%}",
            str(q.fallbacks),
            registered,
        )
    Console().print(table)


@app.command("verify")
def verify_command(
    files: Annotated[list[Path], typer.Argument(help="GGUF files to check")],
    reference: Annotated[Path, typer.Option(help="the full-precision Hugging Face model folder")],
    prompts: Annotated[
        Path | None, typer.Option(help="SFT JSONL whose prompts to use (default: atlas)")
    ] = None,
    count: Annotated[int, typer.Option(min=1, help="how many prompts")] = 16,
    world_seed: Annotated[
        int | None, typer.Option(help="atlas world of the default prompts")
    ] = None,
    tools: Annotated[
        str | None, typer.Option(help="comma-separated tool names (default: atlas tools)")
    ] = None,
    json_out: Annotated[
        Path | None, typer.Option("--json", help="also write the report here")
    ] = None,
    baseline: Annotated[
        Path | None, typer.Option(help="one of FILES (the f16) the others are compared with too")
    ] = None,
) -> None:
    """Greedy plans of each GGUF against the reference model's (constrained by outlines):
    parse rate, same tool, task similarity, identical plans and log-prob drift; with
    --baseline, also same tool and identical plans against that file (same engine).

    Examples:

      waypoint quantize verify planner.f16.gguf planner.Q8_0.gguf planner.Q4_K_M.gguf \
        --reference runs/planner/merged --baseline planner.f16.gguf

      waypoint quantize verify planner.Q4_K_M.gguf --reference merged \
        --prompts val.jsonl --json verify.json
    """
    from quantize.validation import VALIDATION_WORLD_SEED, atlas_prompts, read_prompts
    from quantize.verify import verify
    from tools.atlas.tools import ATLAS_TOOL_NAMES

    chosen = (
        read_prompts(prompts, count)
        if prompts
        else atlas_prompts(count, world_seed if world_seed is not None else VALIDATION_WORLD_SEED)
    )
    tool_names = [t.strip() for t in tools.split(",")] if tools else list(ATLAS_TOOL_NAMES)
    with _progress(transient=True) as progress:
        bars: dict[str, Any] = {}

        def on_step(label: str, done: int, total: int) -> None:
            bars.setdefault(label, _bar(progress, label))(label, done + 1, total)

        report = verify(reference, files, chosen, tool_names, baseline=baseline, on_step=on_step)
    _print_report(report)
    if json_out:
        json_out.write_text(report.model_dump_json(indent=2))
        typer.echo(f"wrote {json_out}")


def _print_report(report: Any) -> None:
    from rich.console import Console
    from rich.table import Table

    table = Table(
        "file",
        "type",
        "size MiB",
        "parse rate",
        "same tool",
        "task similarity",
        "identical",
        "log-prob drift",
        "same tool as baseline",
        "identical to baseline",
        title=f"agreement with {report.reference} on {report.prompts} prompts "
        f"(reference parse rate {report.reference_parse_rate:.0%})",
    )
    for f in report.files:
        table.add_row(
            f.path.name,
            f.file_type,
            f"{f.size_bytes / 2**20:.1f}",
            f"{f.parse_rate:.0%}",
            f"{f.same_tool:.0%}",
            f"{f.task_similarity:.2f}",
            f"{f.identical:.0%}",
            f"{f.logprob_drift:.3f}",
            f"{f.baseline.same_tool:.0%}" if f.baseline else "–",
            f"{f.baseline.identical:.0%}" if f.baseline else "–",
        )
    Console().print(table)
