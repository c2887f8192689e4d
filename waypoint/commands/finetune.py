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
    seed: Annotated[int | None, Opt(help="seed for data order and adapter init")] = None,
    resume: Annotated[bool, Opt(help="continue the run in --out from its last checkpoint")] = False,
) -> None:
    """Train a LoRA adapter for the planner on an SFT dataset.

    Settings come from --config (a TOML file; LoRA settings in its lora table), then the
    options given here. Ctrl-C saves a checkpoint; rerun the same command with --resume.

    Example:

      waypoint finetune data/sft --out runs/planner --epochs 3 --lr 3e-4
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
        "mask_observations": mask_observations, "seed": seed,
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
