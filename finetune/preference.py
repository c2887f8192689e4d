"""The preference stage (seed 000, KnowSelf's stage 2): RPO, that is DPO with an NLL term
on the chosen plans, on the planner's own mistakes against the gold plans, on top of the
SFT adapter.

A pair is one explored step where the planner's plan was wrong (`schemas.exploration`):
its prompt is the fine-tuned planner's conversation up to that step, exactly as the planner
saw it, the rejected completion its own plan and the chosen one the gold plan. For a
self-aware planner (`prompt = "self-aware"`, KnowSelf's own stage 2) the prompt is the
self-aware conversation of the labelled steps before, the chosen completion what the step
should have started with (a consult, or a self-check and the gold plan) and the rejected
one its own plan, acted on at once. trl's
DPOTrainer does the work: with the SFT adapter loaded, it trains that adapter and keeps a
frozen copy as the reference, so the run moves away from the SFT planner only as far as
the pairs ask (`beta`). The NLL term (`rpo_alpha`) keeps the gold plans likely, as RPO
does; trl writes it as a second loss, "sft", beside the sigmoid one.

When training ends, the training pairs are scored once more: `margin` is how much the
log-likelihood of each chosen plan rose against its rejected one, relative to the
reference, averaged over the pairs (0 before the first step).
"""

from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

from pydantic import BaseModel, Field
from rich.console import Console

from finetune.config import Scheduler, StageSettings
from finetune.explore import read_explorations
from finetune.self_aware import self_aware_pair
from finetune.sft_data import DatasetError
from finetune.train import StageResult, TrainingRun
from planner.knowledge import KnowledgeBase
from planner.prompts import fine_tuned_messages, plan_text
from schemas.chat import Message, assistant
from schemas.exploration import Exploration
from schemas.settings import load_settings
from schemas.trajectory import Scratchpad

if TYPE_CHECKING:
    from datasets import Dataset
    from transformers import PreTrainedTokenizerBase, TrainerCallback

Situation = Literal["reflect", "consult"]


class PreferenceConfig(StageSettings):
    """RPO on explored mistakes. Defaults follow the seed where a LoRA run allows: beta 0.5,
    one epoch, a constant rate after 10% warm-up; the rate is a LoRA one."""

    pairs: Path = Field(description="explorations JSONL (finetune.explore), or its folder")
    situations: list[Situation] = Field(
        default_factory=lambda: ["reflect", "consult"], description="mistakes to learn from"
    )
    prompt: Literal["fine-tuned", "self-aware"] = Field(
        "fine-tuned", description="the planner trained: its prompt and plan format"
    )
    knowledge: Path | None = Field(None, description="self-aware: rules JSONL (default shipped)")
    beta: float = Field(0.5, gt=0.0, description="how close to the reference the run stays")
    rpo_alpha: float = Field(1.0, ge=0.0, description="weight of the NLL term on chosen plans")
    learning_rate: float = Field(5e-5, gt=0.0)
    lr_scheduler: Scheduler = "constant_with_warmup"
    warmup_ratio: float = Field(0.1, ge=0.0, lt=1.0)
    epochs: float = Field(1.0, gt=0.0)
    batch_size: int = Field(1, ge=1, description="pairs per device per micro-batch")
    grad_accum: int = Field(4, ge=1)


class PreferencePair(BaseModel):
    request_id: str
    step: int
    situation: Situation
    prompt: list[Message]
    chosen: str
    rejected: str


class PreferenceResult(StageResult):
    pairs: int
    skipped_too_long: int
    margin: float = Field(description="mean rise of log p(chosen) - log p(rejected), nats")
    chosen_logp_change: float = Field(description="mean change of log p(chosen), nats")
    rejected_logp_change: float = Field(description="mean change of log p(rejected), nats")
    improved: float = Field(description="share of pairs whose margin rose")


def load_preference_config(path: Path | None, overrides: dict[str, Any]) -> PreferenceConfig:
    return load_settings(PreferenceConfig, path, overrides, "preference config")


def preference_pairs(
    explorations: Sequence[Exploration],
    situations: Sequence[str] = ("reflect", "consult"),
    knowledge: KnowledgeBase | None = None,
) -> list[PreferencePair]:
    """A pair for every explored step that went wrong in one of `situations`: in the
    fine-tuned planner's prompt, or with `knowledge` in the self-aware one."""
    pairs = []
    for record in explorations:
        for i in record.mistakes():
            explored = record.explored[i]
            if explored.situation not in situations:
                continue
            if knowledge is not None:
                prompt, chosen, rejected = self_aware_pair(record, i, knowledge)
            else:
                scratchpad = Scratchpad(steps=record.steps[:i])
                prompt = fine_tuned_messages(record.request, scratchpad, record.history)
                chosen, rejected = plan_text(explored.gold), plan_text(explored.own)
            pairs.append(
                PreferencePair(
                    request_id=record.request_id,
                    step=i + 1,
                    situation=explored.situation,  # type: ignore[arg-type]
                    prompt=prompt,
                    chosen=chosen,
                    rejected=rejected,
                )
            )
    return pairs


def train_preference(
    config: PreferenceConfig,
    *,
    resume: bool = False,
    console: Console | None = None,
    callbacks: Sequence["TrainerCallback"] = (),
) -> PreferenceResult:
    """RPO on the mistakes in `config.pairs`; `resume` continues from the last checkpoint.
    Raises TrainingInterrupted after Ctrl-C (work is saved)."""
    console = console or Console(stderr=True)
    knowledge = KnowledgeBase.load(config.knowledge) if config.prompt == "self-aware" else None
    pairs = preference_pairs(read_explorations(config.pairs), config.situations, knowledge)
    if not pairs:
        raise DatasetError(f"{config.pairs} holds no mistakes of {config.situations} to learn")
    run = TrainingRun(config, resume=resume, console=console)
    from trl import DPOConfig, DPOTrainer

    dataset, skipped = _dataset(pairs, run.tokenizer, config.max_length)
    note = f"; {skipped} longer than {config.max_length} tokens left out" if skipped else ""
    console.print(f"data: {len(dataset)} preference pairs{note}", highlight=False)
    args = DPOConfig(
        **run.arguments(),
        beta=config.beta,
        loss_type=["sigmoid", "sft"],
        loss_weights=[1.0, config.rpo_alpha],
        eval_strategy="no",
    )
    trainer = DPOTrainer(
        model=run.model(),
        args=args,
        train_dataset=dataset,
        eval_dataset=dataset,  # scored once, after training: did the pairs move apart?
        processing_class=run.tokenizer,
        peft_config=run.peft_config,
        callbacks=run.callbacks(callbacks),
    )
    run.fit(trainer)
    fields = run.result_fields(trainer)
    # trl names its own metrics eval_… whatever the prefix; rewards are beta · log-ratios
    scores = trainer.evaluate()
    result = PreferenceResult(
        **fields,
        pairs=len(dataset),
        skipped_too_long=skipped,
        margin=scores["eval_rewards/margins"] / config.beta,
        chosen_logp_change=scores["eval_rewards/chosen"] / config.beta,
        rejected_logp_change=scores["eval_rewards/rejected"] / config.beta,
        improved=scores["eval_rewards/accuracies"],
    )
    (config.out / "result.json").write_text(result.model_dump_json(indent=2))
    return result


def _dataset(
    pairs: Sequence[PreferencePair], tokenizer: "PreTrainedTokenizerBase", max_length: int
) -> tuple["Dataset", int]:
    """trl's conversational preference rows; a pair longer than `max_length` is left out
    (trl would cut it, and a cut plan teaches nothing)."""
    from datasets import Dataset

    rows = []
    for pair in pairs:
        prompt = [m.model_dump() for m in pair.prompt]
        longest = max((pair.chosen, pair.rejected), key=len)
        text = tokenizer.apply_chat_template(
            [*prompt, assistant(longest).model_dump()], tokenize=False
        )
        if len(tokenizer(text, add_special_tokens=False)["input_ids"]) > max_length:
            continue
        rows.append({
            "prompt": prompt,
            "chosen": [assistant(pair.chosen).model_dump()],
            "rejected": [assistant(pair.rejected).model_dump()],
        })  # fmt: skip
    if not rows:
        raise DatasetError(f"every preference pair is longer than max_length={max_length}")
    return Dataset.from_list(rows), len(pairs) - len(rows)
