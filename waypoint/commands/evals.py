"""`waypoint eval`: run planners over request sets, report and compare them (see `evals/`)."""

from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console

from waypoint.commands.gpu import GpuLayers, announce_model, gpu_layers
from waypoint.logs import run_log

app = typer.Typer(
    help="""Evaluate planners: pass, bad-task and completion rates with error bars.

      waypoint eval run --planner expert,random,zero-shot --requests atlas:2:40:heldout

      waypoint eval report runs/eval

      waypoint eval compare zero-shot:smollm2-135m random --run runs/eval
    """,
    no_args_is_help=True,
)
err = Console(stderr=True, highlight=False, soft_wrap=True)
DEFAULT_RUN = Path("runs/eval")
Opt = typer.Option


@app.command("run")
def run_command(
    planner: Annotated[
        list[str],
        Opt(
            "--planner",
            "-p",
            help="expert, random, zero-shot[:MODEL], fine-tuned[:MODEL] or self-aware[:MODEL]",
        ),
    ],
    requests: Annotated[
        str,
        Opt(
            "--requests",
            "-r",
            help="atlas:SEED:COUNT[:train|heldout|all], real (the real-tool set), or a JSONL file",
        ),
    ],
    runs: Annotated[int, Opt("--runs", "-n", min=1, help="runs per planner")] = 3,
    judge: Annotated[
        str | None, Opt(help="a judge model (default: atlas or check, for atlas or real requests)")
    ] = None,
    out: Annotated[Path, Opt("--out", "-o", help="the run folder")] = DEFAULT_RUN,
    simulator: Annotated[
        str | None, Opt(help="model playing the tools for non-atlas requests (default: judge)")
    ] = None,
    max_steps: Annotated[int | None, Opt(min=1, help="steps per request (default 10)")] = None,
    temperature: Annotated[
        float | None,
        Opt(min=0.0, help="model planners' sampling; 0 repeats one run (default 0.7)"),
    ] = None,
    max_tokens: Annotated[int | None, Opt(min=1, help="tokens per plan (default 400)")] = None,
    seed: Annotated[int | None, Opt(help="run r samples with seed + r (default 0)")] = None,
    grounding: Annotated[
        bool,
        Opt(help="snap names and addresses in model plans to those the run has seen"),
    ] = True,
    tool_caller: Annotated[
        str | None,
        Opt(help="who writes calls the tools' rules cannot read: base, or a GGUF LoRA file"),
    ] = None,
    workers: Annotated[
        int, Opt("--workers", "-w", min=1, help="runs at once; > 1 needs every model behind HTTP")
    ] = 1,
    gpu: GpuLayers = None,
) -> None:
    """Run each planner over the requests RUNS times, judge every run, store it all in OUT.

    Resumable: the same command skips what OUT already holds (Ctrl-C keeps finished runs).
    Failed and incomplete runs are recorded and count as unanswered; a run cut short by a
    model server's fault is not recorded, and runs again next time. Prints the table.

    Examples:

      waypoint eval run -p expert,random,zero-shot -r atlas:2:40:heldout -n 3 -o runs/eval

      waypoint eval run -p fine-tuned:runs/ft/model-q4_k_m.gguf -r atlas:2:40:heldout -o runs/eval

      waypoint eval run -p fine-tuned:waypoint-135m,zero-shot -r real -n 3 -o runs/real

      waypoint eval run -p fine-tuned:waypoint-135m -r atlas:2:48:heldout -o runs/raw --no-grounding

      waypoint eval run -p fine-tuned:waypoint-135m -r real -o runs/real-tc \
        --tool-caller runs/tc/tool_caller.gguf

      waypoint eval run -p zero-shot:qwen2.5-7b-instruct-q4 -r my_requests.jsonl --judge gpt-4o

      waypoint eval run -p zero-shot:my-vllm -r my_requests.jsonl --judge my-vllm --workers 8
    """
    from evals.report import markdown_table
    from evals.runner import run_eval
    from evals.store import EvalSettings
    from evals.summary import summarize

    chosen = dict(
        max_steps=max_steps, temperature=temperature, max_tokens=max_tokens, seed=seed,
        tool_caller=tool_caller, grounded=grounding,
    )  # fmt: skip
    settings = EvalSettings(**{k: v for k, v in chosen.items() if v is not None})
    with run_log(out):
        summary = run_eval(
            planner, requests, runs, judge, out, settings=settings, simulator=simulator,
            workers=workers, gpu_layers=gpu_layers(gpu), on_local_model=announce_model,
        )  # fmt: skip
    err.print(
        f"{summary.written} runs, {summary.judged} ratings new ({summary.skipped} already there, "
        f"{summary.failed} failed runs, {summary.faults} cut short by a server fault) in "
        f"{summary.seconds:.0f} s → {out}"
    )
    for problem in summary.problems:
        err.print(f"  {problem}")
    typer.echo(markdown_table(summarize(out)))
    if summary.unjudged or summary.faults:
        missing = summary.unjudged + summary.faults
        err.print(f"{missing} runs are not run or rated yet: run the same command again")
        raise typer.Exit(1)


@app.command("report")
def report_command(
    run_dirs: Annotated[list[Path], typer.Argument(help="run folders of `waypoint eval run`")],
    out: Annotated[
        Path | None, Opt("--out", "-o", help="where to write (default RUN_DIR/report)")
    ] = None,
) -> None:
    """Write report.md (the table), summary.json and metrics.png; print the table.

    Examples:

      waypoint eval report runs/eval

      waypoint eval report runs/eval-base runs/eval-finetuned --out runs/report
    """
    from evals.report import write_report

    files = write_report(run_dirs, out)
    typer.echo(files.markdown.read_text(encoding="utf-8"), nl=False)
    err.print(f"→ {files.markdown}, {files.summary}, {files.plot}")


@app.command("compare")
def compare_command(
    a: Annotated[str, typer.Argument(help="a planner label, e.g. zero-shot:smollm2-135m")],
    b: Annotated[str, typer.Argument(help="the planner to compare it with")],
    run: Annotated[
        list[Path] | None, Opt("--run", "-r", help="run folder(s) (default runs/eval)")
    ] = None,
) -> None:
    """Compare two planners metric by metric: Welch's t-test over runs, p-values.

    A planner that appears in several run folders is named LABEL@RUN_DIR.

    Examples:

      waypoint eval compare expert zero-shot:smollm2-135m --run runs/eval

      waypoint eval compare fine-tuned:ft-q4@runs/a fine-tuned:ft-q4@runs/b -r runs/a -r runs/b
    """
    from evals.report import comparison_table
    from evals.summary import compare, summarize

    typer.echo(comparison_table(compare(summarize(run or [DEFAULT_RUN]), a, b)))
