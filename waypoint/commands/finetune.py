"""`waypoint finetune`: LoRA/QLoRA fine-tuning of the planner, and merging the adapter.

`waypoint finetune DATASET --out DIR` is short for `waypoint finetune train DATASET …`.
"""

from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console

from waypoint.commands.default_group import group_defaulting_to
from waypoint.logs import run_log

app = typer.Typer(
    cls=group_defaulting_to("train"),
    help="Fine-tune the planner (LoRA, QLoRA on CUDA) and merge the adapter.",
    no_args_is_help=True,
)

Opt = typer.Option


@app.command("train")
def train_command(
    dataset: Annotated[Path, typer.Argument(help="SFT JSONL, or a folder with train/validation")],
    out: Annotated[Path, Opt("--out", "-o", help="run folder (checkpoints, logs, adapter)")],
    base: Annotated[str | None, Opt(help="HF id, HF folder, .gguf file; default bundled")] = None,
    config: Annotated[Path | None, Opt("--config", "-c", help="TOML settings")] = None,
    eval_dataset: Annotated[Path | None, Opt(help="validation JSONL (else a split)")] = None,
    precision: Annotated[str | None, Opt(help="auto, 4bit, bf16 or fp32")] = None,
    lora_r: Annotated[int | None, Opt(help="LoRA rank")] = None,
    lora_alpha: Annotated[int | None, Opt(help="LoRA alpha")] = None,
    lora_dropout: Annotated[float | None, Opt(help="LoRA dropout")] = None,
    target_modules: Annotated[str | None, Opt(help="all-linear or q_proj,v_proj,…")] = None,
    lr: Annotated[float | None, Opt("--lr", help="peak learning rate")] = None,
    scheduler: Annotated[str | None, Opt(help="cosine, linear, constant, …")] = None,
    warmup_ratio: Annotated[float | None, Opt(help="share of steps warming up")] = None,
    epochs: Annotated[float | None, Opt(help="passes over the training set")] = None,
    max_steps: Annotated[int | None, Opt(help="stop after this many optimizer steps")] = None,
    batch_size: Annotated[int | None, Opt(help="examples per micro-batch")] = None,
    grad_accum: Annotated[int | None, Opt(help="micro-batches per optimizer step")] = None,
    max_length: Annotated[int | None, Opt(help="longest example kept, in tokens")] = None,
    completion_only: Annotated[
        bool | None, Opt("--completion-only/--full-loss", help="mask the prompt in the loss")
    ] = None,
    mask_observations: Annotated[
        bool | None, Opt(help="with --full-loss: leave tool results out of the loss")
    ] = None,
    decision_weight: Annotated[
        float | None, Opt(help="loss weight of each plan's thoughts and tool (default 1)")
    ] = None,
    seed: Annotated[int | None, Opt(help="seed for data order and adapter init")] = None,
    resume: Annotated[bool, Opt(help="continue the run in --out from its last checkpoint")] = False,
) -> None:
    """Train a LoRA adapter for the planner on an SFT dataset.

    Settings come from --config (a TOML file; LoRA settings in its lora table), then the
    options given here. Ctrl-C saves a checkpoint; rerun the same command with --resume.

    Examples:

      waypoint finetune data/sft --out runs/planner --epochs 3 --lr 3e-4

      waypoint finetune data/sft --out runs/planner --decision-weight 3
    """
    from finetune.config import load_config

    modules = None
    if target_modules is not None:
        modules = target_modules if target_modules == "all-linear" else target_modules.split(",")
    given: dict[str, Any] = {
        "dataset": dataset, "out": out, "base": base, "eval_dataset": eval_dataset,
        "precision": precision, "lora.r": lora_r, "lora.alpha": lora_alpha,
        "lora.dropout": lora_dropout, "lora.target_modules": modules, "learning_rate": lr,
        "lr_scheduler": scheduler, "warmup_ratio": warmup_ratio, "epochs": epochs,
        "max_steps": max_steps, "batch_size": batch_size, "grad_accum": grad_accum,
        "max_length": max_length, "completion_only": completion_only,
        "mask_observations": mask_observations, "decision_weight": decision_weight,
        "seed": seed,
    }  # fmt: skip
    settings = load_config(config, {k: v for k, v in given.items() if v is not None})
    from finetune.train import train  # heavy (torch, transformers): after the cheap checks

    console = Console(stderr=True)
    with run_log(out):
        result = train(settings, resume=resume, console=console)
    first, last = result.val_losses[0][1], result.val_losses[-1][1]
    console.print(
        f"done: {result.steps} steps, validation loss {first:.4f} → {last:.4f}, "
        f"{result.tokens_per_second:.0f} training tokens/s; adapter in {result.adapter}",
        highlight=False,
        soft_wrap=True,
    )
    merge_hint = f"next: waypoint finetune merge {result.adapter} --out {out / 'merged'}"
    console.print(merge_hint, highlight=False, soft_wrap=True)


@app.command("merge")
def merge_command(
    adapter: Annotated[Path, typer.Argument(help="adapter folder written by training")],
    out: Annotated[Path, Opt("--out", "-o", help="folder for the merged model")],
    base: Annotated[str | None, Opt(help="base to merge into; default: the trained one")] = None,
    dtype: Annotated[str, Opt(help="auto (the base's own), float32, bfloat16, float16")] = "auto",
) -> None:
    """Merge a LoRA adapter into its base model.

    The result is a Hugging Face folder with the tokenizer and chat template, ready for
    GGUF export (waypoint quantize)."""
    from finetune.merge import merge

    merge(adapter, out, base=base, dtype=dtype)
    Console(stderr=True).print(f"merged model in {out}", highlight=False, soft_wrap=True)


@app.command("explore-tools")
def explore_tools_command(
    out: Annotated[Path, Opt("--out", "-o", help="folder for episodes, calls and summary")],
    tools: Annotated[str | None, Opt(help="comma-separated; default: every tool")] = None,
    episodes: Annotated[int | None, Opt(help="episodes per tool")] = None,
    trials: Annotated[int | None, Opt(help="calls per episode at most")] = None,
    worlds: Annotated[str | None, Opt(help="atlas world seeds, comma-separated")] = None,
    explorer: Annotated[str | None, Opt(help="model name or path, or 'expert'")] = None,
    imagine: Annotated[bool | None, Opt(help="the explorer rewords each task")] = None,
    paraphrases: Annotated[int | None, Opt(help="rewordings of each solved task")] = None,
    seed: Annotated[int | None, Opt(help="seed of the scenario draws")] = None,
) -> None:
    """Explore tools by simulated trial and error: their successful calls become training
    data for a tool-caller adapter (waypoint finetune tool-caller).

    Example:

      waypoint finetune explore-tools --out runs/explore --episodes 40 --explorer expert
    """
    from finetune.trial_and_error import EXPERT, ExploreConfig, explore
    from schemas.settings import load_settings

    given: dict[str, Any] = {
        "out": out, "tools": tools.split(",") if tools else None, "episodes": episodes,
        "trials": trials, "worlds": [int(w) for w in worlds.split(",")] if worlds else None,
        "explorer": explorer, "imagine": imagine, "paraphrases": paraphrases, "seed": seed,
    }  # fmt: skip
    settings = load_settings(
        ExploreConfig, None, {k: v for k, v in given.items() if v is not None}, "exploration"
    )
    model = None
    if settings.explorer != EXPERT:
        from models.registry import load_chat_model

        model = load_chat_model(settings.explorer)
    with run_log(out):
        summary = explore(settings, model)
    console = Console(stderr=True)
    for tool, figures in summary.items():
        console.print(
            f"{tool}: {figures.solved}/{figures.episodes} episodes solved "
            f"({figures.first_trial} at the first trial), {figures.examples} examples",
            highlight=False,
        )
    console.print(
        f"next: waypoint finetune tool-caller {out} --out runs/tool-caller", highlight=False
    )


@app.command("tool-caller")
def tool_caller_command(
    calls: Annotated[list[Path], typer.Argument(help="exploration folders (calls.jsonl)")],
    out: Annotated[Path, Opt("--out", "-o", help="run folder (data, training, adapter)")],
    replay: Annotated[
        list[Path] | None, Opt(help="calls of tools learned before, replayed (repeatable)")
    ] = None,
    replay_fraction: Annotated[float | None, Opt(help="replayed examples per new one")] = None,
    config: Annotated[Path | None, Opt("--config", "-c", help="TOML settings")] = None,
    max_steps: Annotated[int | None, Opt(help="stop after this many optimizer steps")] = None,
    epochs: Annotated[float | None, Opt(help="passes over the training set")] = None,
    lr: Annotated[float | None, Opt("--lr", help="peak learning rate")] = None,
    adapter: Annotated[
        Path | None, Opt(help="go on training this tool-caller adapter (a tool added later)")
    ] = None,
    gguf: Annotated[bool, Opt(help="export the adapter as a GGUF LoRA for llama.cpp")] = True,
) -> None:
    """Train a tool-caller LoRA adapter on explored calls; with --replay, continual
    learning: the new tools' calls plus a sample of the old ones'.

    Example:

      waypoint finetune tool-caller runs/explore --out runs/tool-caller --epochs 3
    """
    from finetune.tool_caller import load_tool_caller_config, train_tool_caller

    given: dict[str, Any] = {
        "calls": calls, "out": out, "replay": replay, "replay_fraction": replay_fraction,
        "train.max_steps": max_steps, "train.epochs": epochs, "train.learning_rate": lr,
        "train.adapter": adapter,
    }  # fmt: skip
    settings = load_tool_caller_config(config, {k: v for k, v in given.items() if v is not None})
    console = Console(stderr=True)
    with run_log(out):
        result = train_tool_caller(settings, console=console)
    trained = result.training.adapter
    line = f"done: {result.data.new_examples} examples, {result.data.replayed} replayed; {trained}"
    if gguf:
        from quantize.lora import export_lora

        trained = export_lora(trained, out / "tool_caller.gguf").path
        line += f"; GGUF LoRA {trained}"
    console.print(line, highlight=False, soft_wrap=True)
    console.print(f"measure: python bench/tool_arguments.py --adapter {trained}", highlight=False)


@app.command("explore")
def explore_command(
    requests: Annotated[Path, typer.Argument(help="atlas requests.jsonl, or its sim folder")],
    model: Annotated[str, Opt("--model", "-m", help="the fine-tuned planner: name or GGUF path")],
    out: Annotated[Path, Opt("--out", "-o", help="folder for explorations.jsonl")],
    count: Annotated[int | None, Opt(min=1, help="the first COUNT requests only")] = None,
    max_steps: Annotated[int, Opt(min=1, help="steps of a run at most")] = 10,
    retry_temperature: Annotated[float, Opt(help="a wrong plan's second try")] = 0.8,
) -> None:
    """Explore a fine-tuned planner's mistakes on training requests.

    Every step is compared with the gold plan of its state and labelled by its
    situation: act (right), reflect (right at a second try) or consult (wrong
    twice). The mistakes are preference pairs (waypoint finetune preference),
    the labels self-aware data (waypoint finetune self-aware). Resumable: a
    rerun explores only the requests not done yet.

    Example:

      waypoint finetune explore runs/sim --model runs/planner.gguf --out runs/explore
    """
    from finetune.explore import EXPLORATIONS, explore_requests
    from models.registry import load_chat_model

    if requests.is_dir():
        from finetune.simulation import REQUESTS

        requests = requests / REQUESTS
    planner_model = load_chat_model(model)
    with run_log(out):
        summary, situations = explore_requests(
            requests, planner_model, out, count=count, max_steps=max_steps,
            retry_temperature=retry_temperature,
        )  # fmt: skip
    console = Console(stderr=True)
    shown = ", ".join(f"{situations[s]} {s}" for s in ("act", "reflect", "consult"))
    console.print(
        f"explored: {summary.written} new, {summary.skipped} already there, "
        f"{summary.failed} failed; steps: {shown} → {out / EXPLORATIONS}",
        highlight=False,
        soft_wrap=True,
    )
    for problem in summary.problems:
        console.print(f"  failed: {problem}", highlight=False, soft_wrap=True)
    console.print(
        f"next: waypoint finetune preference {out} --adapter SFT_ADAPTER --out runs/preference",
        highlight=False,
        soft_wrap=True,
    )


@app.command("self-aware")
def self_aware_command(
    explored: Annotated[Path, typer.Argument(help="explorations.jsonl, or its folder")],
    out: Annotated[Path, Opt("--out", "-o", help="dataset folder (train/validation JSONL)")],
    knowledge: Annotated[Path | None, Opt(help="rules JSONL; default: the shipped rules")] = None,
    val_fraction: Annotated[float, Opt(min=0.0, max=0.9, help="requests held out")] = 0.1,
    seed: Annotated[int, Opt(help="seed of the split")] = 0,
) -> None:
    """Self-aware training data from an exploration.

    Each step is written in its mode: act; reflect, a self-check before the
    plan; consult, the rules retrieved for the state shown before the plan.
    Train on it with waypoint finetune train (the self-aware planner reads the
    same prompt).

    Example:

      waypoint finetune self-aware runs/explore --out runs/self-aware-data
    """
    from finetune.self_aware import write_self_aware_dataset

    modes = write_self_aware_dataset(
        explored, out, knowledge=knowledge, val_fraction=val_fraction, seed=seed
    )
    console = Console(stderr=True)
    shown = ", ".join(f"{modes.get(m, 0)} {m}" for m in ("act", "reflect", "consult"))
    console.print(f"steps: {shown} → {out}", highlight=False, soft_wrap=True)
    console.print(
        f"next: waypoint finetune train {out} --out runs/self-aware --lr 3e-4", highlight=False
    )


@app.command("preference")
def preference_command(
    explored: Annotated[Path, typer.Argument(help="explorations.jsonl, or its folder")],
    out: Annotated[Path, Opt("--out", "-o", help="run folder (checkpoints, logs, adapter)")],
    adapter: Annotated[
        Path | None, Opt(help="the SFT adapter to train on (else a new one on the base)")
    ] = None,
    base: Annotated[str | None, Opt(help="the adapter's base; default bundled")] = None,
    config: Annotated[Path | None, Opt("--config", "-c", help="TOML settings")] = None,
    prompt: Annotated[str | None, Opt(help="fine-tuned or self-aware planner")] = None,
    situations: Annotated[str | None, Opt(help="mistakes to learn: reflect,consult")] = None,
    beta: Annotated[float | None, Opt(help="how close to the SFT adapter the run stays")] = None,
    rpo_alpha: Annotated[float | None, Opt(help="weight of the NLL term on chosen plans")] = None,
    lr: Annotated[float | None, Opt("--lr", help="peak learning rate")] = None,
    epochs: Annotated[float | None, Opt(help="passes over the pairs")] = None,
    max_steps: Annotated[int | None, Opt(help="stop after this many optimizer steps")] = None,
    max_length: Annotated[int | None, Opt(help="longest pair kept, in tokens")] = None,
    precision: Annotated[str | None, Opt(help="auto, 4bit, bf16 or fp32")] = None,
    resume: Annotated[bool, Opt(help="continue the run in --out from its last checkpoint")] = False,
) -> None:
    """Preference training (RPO) on the planner's own mistakes.

    DPO with an NLL term on the chosen plans: each explored mistake is a pair,
    the gold plan chosen over the planner's own, trained on top of its SFT
    adapter (a frozen copy of it is the reference).

    Example:

      waypoint finetune preference runs/explore --adapter runs/planner/adapter --out runs/rpo
    """
    from finetune.preference import load_preference_config

    given: dict[str, Any] = {
        "pairs": explored, "out": out, "adapter": adapter, "base": base, "prompt": prompt,
        "situations": situations.split(",") if situations else None, "beta": beta,
        "rpo_alpha": rpo_alpha, "learning_rate": lr, "epochs": epochs, "max_steps": max_steps,
        "max_length": max_length, "precision": precision,
    }  # fmt: skip
    settings = load_preference_config(config, {k: v for k, v in given.items() if v is not None})
    from finetune.preference import train_preference  # heavy: after the cheap checks

    console = Console(stderr=True)
    with run_log(out):
        result = train_preference(settings, resume=resume, console=console)
    console.print(
        f"done: {result.steps} steps on {result.pairs} pairs; log p(chosen) - log p(rejected) "
        f"rose {result.margin:+.3f} nats on average ({result.improved:.0%} of the pairs); "
        f"adapter in {result.adapter}",
        highlight=False,
        soft_wrap=True,
    )


@app.command("curriculum")
def curriculum_command(
    config: Annotated[Path, typer.Argument(help="TOML: out, shared settings, stages")],
    out: Annotated[Path | None, Opt("--out", "-o", help="instead of the config's out")] = None,
) -> None:
    r"""Ordered training stages from one config (a curriculum).

    Each stage trains on the adapter of the one before: sft stages may keep
    trajectories by plan count (short ones first, then long ones), a preference
    stage learns from explored mistakes. Resumable across stages: rerun the same
    command; finished stages are skipped, an unfinished one resumes from its last
    checkpoint.

    Example, curriculum.toml:

      out = "runs/curriculum"
      sft = { dataset = "runs/sim/dataset" }
      \[\[stages]]
      name = "short"
      max_plans = 2
      \[\[stages]]
      name = "long"
      \[\[stages]]
      name = "rpo"
      kind = "preference"
      settings = { pairs = "runs/explore" }

    then:

      waypoint finetune curriculum curriculum.toml
    """
    from finetune.curriculum import load_curriculum, run_curriculum

    settings = load_curriculum(config, {"out": out} if out is not None else {})
    console = Console(stderr=True)
    with run_log(settings.out):
        state = run_curriculum(settings, console=console)
    for number, stage in enumerate(state.finished, 1):
        console.print(f"stage {number} {stage.name}: adapter {stage.adapter}", highlight=False)
