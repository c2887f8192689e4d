"""Supervised fine-tuning of the planner with LoRA (QLoRA on CUDA), top to bottom:
claim the run folder → choose the hardware path → load the base → encode the data →
attach LoRA → train with per-epoch validation, checkpoints and tensorboard → save adapter.

The loop every training stage shares is `TrainingRun`: the run folder, the hardware, the
base and its tokenizer, progress, Ctrl-C and the saved adapter. A stage (this one,
`finetune.preference`) adds its data and configures its trl trainer.

A run folder holds `finetune.json` (its settings), `checkpoint-N/`, `runs/` (tensorboard),
`result.json` and, when training ends, `adapter/` — what `finetune.merge` reads.
"""

import json
import shutil
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from pydantic import BaseModel
from rich.console import Console

from finetune.base_model import (
    choose_hardware,
    load_for_training,
    load_tokenizer,
    resolve_base,
)
from finetune.config import RUN_FILE, LoraSettings, StageSettings, TrainConfig
from finetune.loss_mask import encode_all
from finetune.quiet import quiet_libraries
from finetune.sft_data import read_examples, split_by_request
from schemas.dataset import SFTExample
from schemas.errors import WaypointError

if TYPE_CHECKING:  # torch, transformers and trl load inside train(): after the cheap checks
    from datasets import Dataset
    from transformers import PreTrainedModel, PreTrainedTokenizerBase, Trainer, TrainerCallback

ADAPTER_DIR = "adapter"
# Settings a resumed run may change: both only move where training stops.
_EXTENDABLE = {"epochs", "max_steps"}


class RunFolderError(WaypointError):
    """The output folder does not fit the request (a run already there, nothing to resume)."""


class TrainingInterrupted(WaypointError):
    """Ctrl-C: the run stopped after saving a checkpoint."""

    exit_code = 130


class StageResult(BaseModel):
    out: Path
    adapter: Path
    steps: int
    losses: list[tuple[int, float]]  # (step, training loss) as logged
    val_losses: list[tuple[int, float]]  # (step, validation loss): at start, after each epoch
    tokens: int  # non-padding tokens trained on in this session (not before a resume)
    tokens_per_second: float
    train_seconds: float  # wall time in optimizer steps
    train_cpu_seconds: float  # CPU time of this process in those steps, all threads


class TrainResult(StageResult):
    train_examples: int
    val_examples: int
    skipped_too_long: int
    plan_tokens: int  # tokens with a label in the training set: what one epoch learns


class TrainingRun:
    """One stage's run over its folder, in the order a stage uses it: claim the folder and
    pick the hardware (at construction), `model()`, the trainer built with `arguments()`,
    `peft_config` and `callbacks()`, then `fit()` and `result_fields()`."""

    def __init__(self, config: StageSettings, *, resume: bool, console: Console) -> None:
        _check_adapter(config)
        _claim_run_folder(config, resume)
        quiet_libraries()
        from finetune.interrupt import GracefulInterrupt
        from finetune.progress import TrainingProgress

        self.config, self.resume, self.console = config, resume, console
        self.hardware = choose_hardware(config.precision, config.gradient_checkpointing)
        console.print(self.hardware.describe(), highlight=False, soft_wrap=True)
        self.source = resolve_base(config.base)
        self.tokenizer = load_tokenizer(self.source)
        self.progress, self.interrupt = TrainingProgress(console), GracefulInterrupt()

    def model(self, *, packed: bool = False) -> "PreTrainedModel":
        """The base in the chosen precision, with the adapter to go on training if there is
        one (else the trainer adds a new one from `peft_config`); `packed`: attention example by
        example in packed rows."""
        model = load_for_training(self.source, self.hardware, packed=packed)
        if self.config.adapter is None:
            return model
        from peft import PeftModel

        return PeftModel.from_pretrained(model, str(self.config.adapter), is_trainable=True)

    @property
    def peft_config(self) -> Any:
        if self.config.adapter is not None:
            return None
        return _lora_config(self.config.lora, self.source)

    def callbacks(self, extra: Sequence["TrainerCallback"] = ()) -> list["TrainerCallback"]:
        return [self.progress, self.interrupt, *extra]

    def arguments(self) -> dict[str, Any]:
        """The trainer settings every stage shares (a stage's trl config takes them)."""
        config, hardware = self.config, self.hardware
        return dict(
            output_dir=str(config.out),
            num_train_epochs=config.epochs,
            max_steps=config.max_steps or -1,
            per_device_train_batch_size=config.batch_size,
            per_device_eval_batch_size=config.batch_size,
            gradient_accumulation_steps=config.grad_accum,
            learning_rate=config.learning_rate,
            lr_scheduler_type=config.lr_scheduler,
            warmup_steps=config.warmup_ratio,  # a float below 1 is a ratio of all steps
            max_length=config.max_length,
            seed=config.seed,
            save_strategy="steps",
            save_steps=config.save_steps,
            save_total_limit=config.save_total_limit,
            logging_steps=config.logging_steps,
            report_to=["tensorboard"],
            use_cpu=hardware.device == "cpu",
            bf16=hardware.mixed_precision == "bf16",
            fp16=hardware.mixed_precision == "fp16",
            # Paged optimizer states ride out memory spikes of long batches on one GPU (QLoRA).
            optim="paged_adamw_32bit" if hardware.device == "cuda" else "adamw_torch",
            gradient_checkpointing=hardware.gradient_checkpointing,
            gradient_checkpointing_kwargs={"use_reentrant": False},
            include_num_input_tokens_seen="non_padding",
            disable_tqdm=True,
        )

    def fit(self, trainer: "Trainer") -> Path:
        """Train (from the last checkpoint when resuming) and save the adapter; raises
        TrainingInterrupted after Ctrl-C, the checkpoint saved."""
        from transformers import PrinterCallback
        from transformers.trainer_utils import get_last_checkpoint

        config = self.config
        trainer.remove_callback(PrinterCallback)  # the progress bar shows what it would print
        with self.interrupt:
            trainer.train(resume_from_checkpoint=True if self.resume else None)
        if self.interrupt.stopped_early(trainer.state):
            checkpoint = get_last_checkpoint(str(config.out))
            raise TrainingInterrupted(
                f"interrupted at step {trainer.state.global_step}/{trainer.state.max_steps}: "
                f"checkpoint saved in {checkpoint}; rerun with --resume to continue"
            )
        adapter = config.out / ADAPTER_DIR
        trainer.save_model(str(adapter))
        for name in getattr(trainer.model, "peft_config", {}):
            if name != "default":  # a stage's helper adapter (the preference reference)
                shutil.rmtree(adapter / name, ignore_errors=True)
        self.tokenizer.save_pretrained(adapter)
        (adapter / RUN_FILE).write_text(config.model_dump_json(indent=2))
        return adapter

    def result_fields(self, trainer: "Trainer") -> dict[str, Any]:
        history, progress = trainer.state.log_history, self.progress
        return dict(
            out=self.config.out,
            adapter=self.config.out / ADAPTER_DIR,
            steps=trainer.state.global_step,
            losses=[(h["step"], h["loss"]) for h in history if "loss" in h],
            val_losses=[(h["step"], h["eval_loss"]) for h in history if "eval_loss" in h],
            tokens=progress.tokens,
            tokens_per_second=round(progress.tokens_per_second, 1),
            train_seconds=round(progress.train_seconds, 1),
            train_cpu_seconds=round(progress.train_cpu_seconds, 1),
        )


def train(
    config: TrainConfig,
    *,
    resume: bool = False,
    console: Console | None = None,
    callbacks: Sequence["TrainerCallback"] = (),
) -> TrainResult:
    """Fine-tune `config.base` on `config.dataset`; `resume` continues from the last
    checkpoint in `config.out`. Raises TrainingInterrupted after Ctrl-C (work is saved)."""
    console = console or Console(stderr=True)
    train_examples, val_examples = _read_examples(config)
    run = TrainingRun(config, resume=resume, console=console)
    from finetune import weighted_loss

    train_set, val_set, skipped = _encode(
        config, train_examples, val_examples, run.tokenizer, console
    )
    if config.packing:  # packed here, so that the weights survive it
        train_set, val_set = (
            weighted_loss.pack(d, config.max_length, config.seed) for d in (train_set, val_set)
        )
    trainer = weighted_loss.WeightedSFTTrainer(
        model=run.model(packed=config.packing and config.attention == "per_example"),
        args=_trainer_args(config, run, resume),
        train_dataset=train_set,
        eval_dataset=val_set,
        processing_class=run.tokenizer,
        peft_config=run.peft_config,
        callbacks=run.callbacks(callbacks),
    )
    run.fit(trainer)
    plan_tokens = sum(sum(label >= 0 for label in row) for row in train_set["labels"])
    result = TrainResult(
        **run.result_fields(trainer),
        train_examples=len(train_examples),
        val_examples=len(val_examples),
        skipped_too_long=skipped,
        plan_tokens=plan_tokens,
    )
    (config.out / "result.json").write_text(result.model_dump_json(indent=2))
    return result


def _check_adapter(config: StageSettings) -> None:
    """An adapter to train on must exist and belong to the base being loaded."""
    if config.adapter is None:
        return
    if not (config.adapter / "adapter_config.json").is_file():
        raise RunFolderError(f"{config.adapter} is not a LoRA adapter folder")
    run_file = config.adapter / RUN_FILE
    if run_file.is_file():  # any stage's settings: only the base they share matters here
        trained_on = json.loads(run_file.read_text()).get("base", config.base)
        if trained_on != config.base:
            raise RunFolderError(
                f"{config.adapter} was trained on {trained_on}, not {config.base}: "
                f"pass --base {trained_on}"
            )


def _claim_run_folder(config: StageSettings, resume: bool) -> None:
    """A new run needs a folder without checkpoints; a resumed one needs a checkpoint and
    the same settings (a different learning rate or dataset would be another run)."""
    run_file = config.out / RUN_FILE
    has_checkpoint = any(config.out.glob("checkpoint-*/trainer_state.json"))
    if not resume:
        if has_checkpoint or (config.out / ADAPTER_DIR).exists():
            raise RunFolderError(
                f"{config.out} already holds a run: pass --resume to continue it, "
                "or choose another --out"
            )
        config.out.mkdir(parents=True, exist_ok=True)
        run_file.write_text(config.model_dump_json(indent=2))
        return
    if not has_checkpoint or not run_file.is_file():
        raise RunFolderError(f"nothing to resume in {config.out}: no checkpoint yet")
    before = _settings(type(config).model_validate_json(run_file.read_text()))
    changed = [f"{k}: {before[k]} → {v}" for k, v in _settings(config).items() if before[k] != v]
    if changed:
        raise RunFolderError(f"--resume keeps the run's settings, but {'; '.join(changed)}")
    run_file.write_text(config.model_dump_json(indent=2))


def _settings(config: StageSettings) -> dict:
    """The settings that define a run, with paths made absolute so they compare."""
    settings = config.model_dump(mode="json", exclude=_EXTENDABLE | {"out"})
    for key, value in settings.items():
        if isinstance(getattr(config, key), Path):
            settings[key] = str(Path(value).resolve())
    return settings


def _read_examples(config: TrainConfig) -> tuple[list[SFTExample], list[SFTExample]]:
    """Training and validation examples. DATASET may be a folder written by
    `finetune.package` (train and validation JSONL); else validation is a split of it."""
    dataset, eval_dataset = config.dataset, config.eval_dataset
    if dataset.is_dir():
        from finetune.package import TRAIN, VALIDATION

        dataset, validation = dataset / TRAIN, dataset / VALIDATION
        if eval_dataset is None and validation.is_file() and validation.stat().st_size:
            eval_dataset = validation
    examples = read_examples(dataset)
    if eval_dataset is not None:
        return examples, read_examples(eval_dataset)
    return split_by_request(examples, config.val_fraction, config.seed)


def _encode(
    config: TrainConfig,
    train_examples: list[SFTExample],
    val_examples: list[SFTExample],
    tokenizer: "PreTrainedTokenizerBase",
    console: Console,
) -> tuple["Dataset", "Dataset", int]:
    train_set, skipped = encode_all(
        train_examples,
        tokenizer,
        completion_only=config.completion_only,
        mask_observations=config.mask_observations,
        max_length=config.max_length,
        layout=config.layout,
        decision_weight=config.decision_weight,
    )
    # Validation loss is always measured on the plan tokens, whatever the training mask, so
    # runs with and without prompt masking are compared on the same figure.
    val_set, val_skipped = encode_all(
        val_examples, tokenizer, completion_only=True, mask_observations=False,
        max_length=config.max_length,
    )  # fmt: skip
    left_out = skipped + val_skipped
    note = f"; {left_out} longer than {config.max_length} tokens left out" if left_out else ""
    console.print(
        f"data: {len(train_set)} training, {len(val_set)} validation examples{note}",
        highlight=False,
        soft_wrap=True,
    )
    return train_set, val_set, left_out


def _lora_config(lora: LoraSettings, source: str):
    from peft import LoraConfig

    targets, layers = lora.target_modules, None
    if lora.top_layers is not None:
        count, linear = _decoder_layout(source)
        layers = list(range(max(0, count - lora.top_layers), count))
        if targets == "all-linear":  # peft takes a layer subset with module names only
            targets = linear
    return LoraConfig(
        r=lora.r,
        lora_alpha=lora.alpha,
        lora_dropout=lora.dropout,
        target_modules=targets,
        layers_to_transform=layers,
        bias="none",
        task_type="CAUSAL_LM",
    )


def _decoder_layout(source: str) -> tuple[int, list[str]]:
    """The base's decoder layer count and the names of its linear layers but the output
    head (what "all-linear" adapts), read from a weightless copy."""
    import torch
    from transformers import AutoConfig, AutoModelForCausalLM

    config = AutoConfig.from_pretrained(source)
    with torch.device("meta"):
        model = AutoModelForCausalLM.from_config(config)
    head = model.get_output_embeddings()
    names = {
        name.rpartition(".")[2]
        for name, module in model.named_modules()
        if isinstance(module, torch.nn.Linear) and module is not head
    }
    return config.num_hidden_layers, sorted(names)


def _trainer_args(config: TrainConfig, run: TrainingRun, resume: bool):
    from trl import SFTConfig

    return SFTConfig(
        **run.arguments(),
        # Packed rows: each position restarts at 0 where an example begins, and the
        # attention mask built from those positions keeps examples from seeing each other.
        packing=config.packing,
        packing_strategy="bfd",
        padding_free=config.packing,
        eval_strategy="epoch",
        eval_on_start=not resume,  # the base model's validation loss: what training improves on
        # the data comes encoded and packed (finetune.weighted_loss)
        dataset_kwargs={"skip_prepare_dataset": True},
    )
