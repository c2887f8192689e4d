"""Training settings: one pydantic model per stage, read from a TOML file and overridden
from the CLI. `StageSettings` holds what every stage shares (the run folder, the base, LoRA,
the optimizer loop); `TrainConfig` adds supervised fine-tuning's own, and each other stage
its own beside its module (`finetune.preference`).

Defaults train the bundled model on a CPU; the reference QLoRA recipe for a 7B planner on
one GPU (seed 003) differs only in `base` and in what `precision="auto"` picks on CUDA.
"""

from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from models.bundled import BUNDLED_NAME
from schemas.settings import load_settings

RUN_FILE = "finetune.json"  # a run's settings, in its folder and next to its adapter

Precision = Literal["auto", "4bit", "bf16", "fp32"]
Scheduler = Literal["cosine", "linear", "constant", "constant_with_warmup"]


class LoraSettings(BaseModel):
    model_config = ConfigDict(extra="forbid")

    r: int = Field(16, ge=1, description="adapter rank")
    alpha: int = Field(32, ge=1, description="scaling numerator: updates are scaled by alpha/r")
    dropout: float = Field(0.05, ge=0.0, lt=1.0)
    # All linear layers rather than the seed's attention-only choice: on a 135M model the
    # extra MLP adapters cost little compute and learn the plan format much faster.
    target_modules: list[str] | Literal["all-linear"] = "all-linear"
    # Backward stops at the lowest adapted layer: on a CPU, the top half trains ~1.5× the
    # tokens per second of all layers (bf16, the bundled model), the rest stays pretrained.
    top_layers: int | None = Field(
        None, ge=1, description="adapt only the last N decoder layers (None: every layer)"
    )


class StageSettings(BaseModel):
    """What every training stage shares."""

    model_config = ConfigDict(extra="forbid")

    out: Path = Field(description="run folder: checkpoints, logs, the final adapter")
    base: str = Field(BUNDLED_NAME, description="HF id, local HF folder, GGUF file or bundled")
    adapter: Path | None = Field(
        None, description="an adapter of `base` to train on (else a new one from `lora`)"
    )
    precision: Precision = Field(
        "auto", description="auto: 4bit on CUDA; on a CPU bf16 where it pays, else fp32"
    )
    lora: LoraSettings = Field(default_factory=LoraSettings)
    learning_rate: float = Field(2e-4, gt=0.0)
    lr_scheduler: Scheduler = "cosine"
    warmup_ratio: float = Field(0.03, ge=0.0, lt=1.0)
    epochs: float = Field(2.0, gt=0.0)
    max_steps: int | None = Field(None, ge=1, description="stop after this many optimizer steps")
    batch_size: int = Field(4, ge=1, description="examples per device per micro-batch")
    grad_accum: int = Field(2, ge=1, description="micro-batches per optimizer step")
    max_length: int = Field(1024, ge=16, description="longer examples are skipped, not cut")
    gradient_checkpointing: bool | None = Field(None, description="None: on for CUDA only")
    seed: int = 0
    logging_steps: int = Field(5, ge=1)
    save_steps: int = Field(50, ge=1, description="checkpoint every this many steps")
    save_total_limit: int = Field(3, ge=1)


class TrainConfig(StageSettings):
    """Supervised fine-tuning on trajectories (`finetune.train`)."""

    dataset: Path = Field(description="SFT examples, JSONL (schemas.dataset.SFTExample)")
    eval_dataset: Path | None = Field(None, description="validation examples; else a split")
    val_fraction: float = Field(0.1, gt=0.0, lt=1.0, description="requests held out")
    packing: bool = Field(
        True, description="several examples per sequence, none attending to another"
    )
    attention: Literal["per_example", "row_mask"] = Field(
        "per_example",
        description="packed rows: each example attended to on its own, or the whole row behind "
        "a block-diagonal mask (the same values, slower; what trained before 2026-12-07)",
    )
    layout: Literal["trajectory", "step"] = Field(
        "trajectory", description="one sequence per trajectory, or per plan (its prefix again)"
    )
    completion_only: bool = Field(True, description="loss on the plans only (the rest masked)")
    mask_observations: bool = Field(False, description="with full loss: skip tool results")
    decision_weight: float = Field(
        1.0, ge=1.0, description="loss weight of each plan's thoughts and tool (where it decides)"
    )

    @model_validator(mode="after")
    def _masks_agree(self) -> "TrainConfig":
        if self.completion_only and self.mask_observations:
            raise ValueError(
                "mask_observations applies to full-sequence loss; with completion_only the "
                "observations (part of the prompt) are masked already"
            )
        return self


# What fits training a 135M model into minutes on two CPU cores (~300 training tokens/s):
# packed rows, one row per optimizer step, and a high LoRA rate make each pass count; LoRA
# dropout costs ~18% of a CPU step and a pass or three over fresh data does not overfit, so
# it is off. The pipeline's planner and the tool caller train under it.
CPU_RECIPE: dict[str, Any] = {
    "epochs": 1.0,
    "learning_rate": 1e-3,
    "batch_size": 1,
    "grad_accum": 1,
    "lora": {"dropout": 0.0},
}


def under(defaults: dict[str, Any], settings: dict[str, Any]) -> dict[str, Any]:
    """`settings` over `defaults`, the LoRA table merged key by key (one LoRA knob keeps the
    rest)."""
    lora = {**defaults.get("lora", {}), **settings.get("lora", {})}
    return {**defaults, **settings, "lora": lora}


def load_config(path: Path | None, overrides: dict[str, Any]) -> TrainConfig:
    """The TOML file (if any) with `overrides` on top; keys like "lora.r" reach into tables."""
    return load_settings(TrainConfig, path, overrides, "training config")
