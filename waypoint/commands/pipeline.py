"""`waypoint pipeline`: simulation → fine-tune → merge → GGUF → quantize → evaluate → report."""

from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console

from waypoint.logs import run_log

Opt = typer.Option


def pipeline_command(
    out: Annotated[Path, Opt("--out", "-o", help="the pipeline folder (resumable)")],
    world: Annotated[str | None, Opt(help="atlas (offline, gold answers) or llm (teacher)")] = None,
    base: Annotated[str | None, Opt(help="model to fine-tune: HF id, HF folder, GGUF")] = None,
    teacher: Annotated[str | None, Opt(help="llm world: the teacher model's name")] = None,
    config: Annotated[Path | None, Opt("--config", "-c", help="TOML with every knob")] = None,
    train_requests: Annotated[int | None, Opt(help="simulated training requests")] = None,
    eval_requests: Annotated[int | None, Opt(help="held-out evaluation requests")] = None,
    eval_runs: Annotated[int | None, Opt(help="evaluation runs per fine-tuned planner")] = None,
    settings: Annotated[
        list[str] | None, Opt("--set", help="any knob as KEY=VALUE (TOML value), repeatable")
    ] = None,
    ship: Annotated[
        Path | None,
        Opt(help="when done, copy the adapter, settings and dataset fingerprint to this folder"),
    ] = None,
) -> None:
    """Run the whole loop and write a report; rerun to continue.

    Stages: requests, trajectories, judge, package (sim/); finetune
    (train/); merge (merged/); export, quantize, adapter (gguf/, each
    registered by name); verify; evaluate (eval/, eval-real/); report
    (report/pipeline.md, .png). Finished stages are never redone;
    Ctrl-C keeps what is done.

    Examples:

      waypoint pipeline --world atlas --base smollm2-135m --out runs/p

      waypoint pipeline --out runs/tiny --train-requests 40
      --set finetune.max_steps=10

      waypoint pipeline --out runs/examples --set worked_examples=true

      waypoint pipeline --config waypoint/pipeline-7b.toml --out runs/7b

      waypoint pipeline --config models/planners/waypoint-135m/pipeline.toml
      --out runs/shipped --ship models/planners/waypoint-135m
    """
    from schemas.settings import load_settings
    from waypoint.pipeline import Pipeline, PipelineConfig

    given: dict[str, Any] = {
        "world": world, "base": base, "teacher": teacher, "train_requests": train_requests,
        "eval_requests": eval_requests, "eval_runs": eval_runs,
    }  # fmt: skip
    overrides = {k: v for k, v in given.items() if v is not None} | parse_sets(settings or [])
    pipeline_config = load_settings(PipelineConfig, config, overrides, "pipeline config")
    console = Console(stderr=True)
    with run_log(out):
        state = Pipeline(pipeline_config, out, console).run()
    total = sum(r.seconds for r in state.stages.values())
    report = state.stages["report"].result["markdown"]
    console.print(f"pipeline done in {total / 60:.1f} min; report: {report}", highlight=False)
    if ship is not None:
        from waypoint.pipeline_ship import ship as ship_planner

        manifest = ship_planner(state, out, ship)
        console.print(f"shipped to {ship}: adapter {manifest.adapter_bytes / 1e6:.1f} MB")


def parse_sets(pairs: list[str]) -> dict[str, Any]:
    """`finetune.epochs=3` → {"finetune.epochs": 3}: values are TOML (strings may be bare)."""
    import tomllib

    from schemas.settings import SettingsError

    parsed: dict[str, Any] = {}
    for pair in pairs:
        key, sep, value = pair.partition("=")
        if not sep or not key.strip():
            raise SettingsError(f"--set takes KEY=VALUE, not {pair!r}")
        try:
            parsed[key.strip()] = tomllib.loads(f"v = {value}")["v"]
        except tomllib.TOMLDecodeError:
            parsed[key.strip()] = value  # a bare string: --set name=mine
    return parsed
