"""Supervised fine-tuning with a weight per learned token: trl's SFT trainer, told to keep a
`weights` column (`finetune.loss_mask` writes it) through packing, collation and the loss.

Why: a plan is ~100 tokens, and nearly all of them restate the request or copy earlier
results, which the model learns in a few dozen steps. The few tokens where it decides (what
it still needs, which tool) get lost in the mean: the shipped planner still got a fifth of
its own training requests wrong at a validation loss of 0.02 per token. Weighting them
keeps their gradient from being averaged away, without changing the data's mix.

The loss is Σ weight × token loss ÷ the number of learned tokens, so with every weight 1
it is exactly trl's. Validation has no weights: it is that unweighted loss, so runs with and
without weights are compared on one figure. Imported only once training starts (torch, trl).

Off CUDA the LM head projects only the learned positions (`learned_log_probs`): trl's fused
head is compact only where Triton runs, and elsewhere scores every position and also the
entropy and top-1 its metrics log, which took a fifth of each step on two CPU cores.
"""

from typing import TYPE_CHECKING, Any

import torch
from trl import SFTTrainer
from trl.data_utils import pack_dataset
from trl.kernels.chunked_logprob import _use_triton
from trl.trainer.sft_trainer import DataCollatorForLanguageModeling

from finetune.loss_mask import IGNORE_INDEX, WEIGHTS

if TYPE_CHECKING:
    from datasets import Dataset


def pack(dataset: "Dataset", max_length: int, seed: int) -> "Dataset":
    """Rows packed as trl packs them (shuffled, best-fit decreasing), every column kept."""
    return pack_dataset(dataset.shuffle(seed=seed), max_length, "bfd")


class WeightCollator:
    """trl's collator (`inner`), with the weights laid out like its labels (padding: 0)."""

    def __init__(self, inner: DataCollatorForLanguageModeling) -> None:
        self.inner = inner

    def __call__(self, examples: list[dict[str, Any]]) -> dict[str, Any]:
        batch = self.inner(examples)
        if WEIGHTS not in examples[0]:
            return batch
        weights = [torch.tensor(e[WEIGHTS], dtype=torch.float32) for e in examples]
        if self.inner.padding_free:
            weights = [torch.cat(weights)]
        width = batch["labels"].size(1)
        batch[WEIGHTS] = torch.stack(
            [torch.nn.functional.pad(w, (0, width - len(w))) for w in weights]
        )
        return batch


class WeightedSFTTrainer(SFTTrainer):
    """Takes datasets already encoded and packed (`skip_prepare_dataset`)."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.data_collator = WeightCollator(self.data_collator)  # trl's, as it configured it

    def _set_signature_columns_if_needed(self) -> None:
        super()._set_signature_columns_if_needed()
        if WEIGHTS not in self._signature_columns:
            self._signature_columns = [*self._signature_columns, WEIGHTS]

    def compute_loss(
        self,
        model: torch.nn.Module,
        inputs: dict[str, Any],
        return_outputs: bool = False,
        num_items_in_batch: torch.Tensor | int | None = None,
    ) -> torch.Tensor | tuple[torch.Tensor, Any]:
        weights = inputs.pop(WEIGHTS, None)
        log_probs, mask = learned_log_probs(model, inputs)
        if weights is not None:  # log_probs score labels[:, 1:]: the weights shift with them
            log_probs = log_probs * weights[:, 1:]
        learned = mask.sum() if num_items_in_batch is None else num_items_in_batch
        loss = -log_probs.sum() / torch.as_tensor(learned).clamp(min=1)
        return (loss, {"loss": loss, "log_probs": log_probs}) if return_outputs else loss


def learned_log_probs(
    model: torch.nn.Module, inputs: dict[str, Any]
) -> tuple[torch.Tensor, torch.Tensor]:
    """(log-probability of each label in `labels[:, 1:]`, zero where masked; the mask).
    Where trl's fused head is compact (Triton) or the head scales its logits, trl computes
    them; elsewhere only the learned positions go through the head."""
    causal_lm = model.get_base_model() if hasattr(model, "get_base_model") else model
    head = causal_lm.get_output_embeddings()
    if _use_triton(head.weight.device) or _scales_logits(causal_lm.config):
        return trl_log_probs(model, inputs)
    inputs = dict(inputs)
    targets = inputs.pop("labels")[:, 1:]
    hidden = causal_lm.base_model(**inputs, use_cache=False).last_hidden_state[:, :-1]
    mask = targets != IGNORE_INDEX
    logits = head(hidden[mask]).float()
    learned = -torch.nn.functional.cross_entropy(logits, targets[mask], reduction="none")
    return learned.new_zeros(mask.shape).masked_scatter(mask, learned), mask


def trl_log_probs(
    model: torch.nn.Module, inputs: dict[str, Any]
) -> tuple[torch.Tensor, torch.Tensor]:
    """`learned_log_probs` from trl's fused head, every position scored where Triton is absent."""
    outputs = model(**inputs, use_cache=False, fused_lm_head=True)
    return outputs.log_probs, outputs.label_mask


def _scales_logits(config: Any) -> bool:
    text = config.get_text_config()
    scales = ("final_logit_softcapping", "logit_scale", "logits_scaling", "output_multiplier",
              "lm_head_multiplier")  # fmt: skip
    return any(getattr(text, name, None) is not None for name in scales)
