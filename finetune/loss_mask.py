"""Token ids and labels for an example: which tokens the loss is computed on.

The example is rendered with the base model's chat template exactly as the planner sees it
at inference (prompt + generation prompt), followed by the plan. A token that touches a
masked span gets the label -100 and adds nothing to the loss:
- completion-only: the whole prompt is masked, the model learns to write the plan;
- full sequence with `mask_observations`: only the tool results inside the prompt are
  masked, so the model is not trained to predict what a tool will return.
"""

import re
from collections.abc import Sequence
from typing import TYPE_CHECKING

from finetune.sft_data import DatasetError
from schemas.dataset import SFTExample

if TYPE_CHECKING:
    from datasets import Dataset
    from transformers import PreTrainedTokenizerBase

IGNORE_INDEX = -100

# Tool results as schemas.trajectory.Scratchpad renders them: "   result: <text>", running
# until the next numbered step or a blank line.
_RESULT = re.compile(r"^ *result: ", re.MULTILINE)
_RESULT_END = re.compile(r"\n(?=\d+\. task: )|\n\n")

Span = tuple[int, int]


def observation_spans(content: str) -> list[Span]:
    """Character spans of the tool results in a message's content."""
    spans = []
    for match in _RESULT.finditer(content):
        end = _RESULT_END.search(content, match.end())
        spans.append((match.end(), end.start() if end else len(content)))
    return [(start, end) for start, end in spans if end > start]


def encode(
    example: SFTExample,
    tokenizer: "PreTrainedTokenizerBase",
    *,
    completion_only: bool,
    mask_observations: bool = False,
) -> dict[str, list[int]]:
    """`input_ids` and `labels` (-100 where masked) for one example."""
    prompt = [m.model_dump() for m in example.prompt]
    prompt_text = tokenizer.apply_chat_template(prompt, tokenize=False, add_generation_prompt=True)
    text = tokenizer.apply_chat_template(
        [*prompt, example.completion[0].model_dump()], tokenize=False
    )
    if not text.startswith(prompt_text):
        raise DatasetError(
            f"{example.request_id} step {example.step}: the chat template renders the prompt "
            "differently once the plan follows it; completion-only labels would be wrong"
        )
    if completion_only:
        masked = [(0, len(prompt_text))]
    elif mask_observations:
        masked = _locate_observations(example, text)
    else:
        masked = []
    encoding = tokenizer(text, add_special_tokens=False, return_offsets_mapping=True)
    ids = encoding["input_ids"]
    labels = [
        IGNORE_INDEX if _overlaps(span, masked) else token
        for token, span in zip(ids, encoding["offset_mapping"], strict=True)
    ]
    return {"input_ids": ids, "labels": labels}


def _overlaps(token: Span, masked: list[Span]) -> bool:
    """A token that shares any character with a masked span is masked: " 42" carries the
    space before a tool result and its first digits, and must not be learned."""
    start, end = token[0], max(token[1], token[0] + 1)
    return any(start < b and end > a for a, b in masked)


def _locate_observations(example: SFTExample, text: str) -> list[Span]:
    """The tool results' spans in the rendered text, found in order (a template may trim
    or wrap a message, so spans are searched for rather than computed)."""
    spans, cursor = [], 0
    for message in example.prompt:
        if message.role != "user":
            continue
        for start, end in observation_spans(message.content):
            found = text.find(message.content[start:end], cursor)
            if found < 0:
                continue
            cursor = found + (end - start)
            spans.append((found, cursor))
    return spans


def encode_all(
    examples: Sequence[SFTExample],
    tokenizer: "PreTrainedTokenizerBase",
    *,
    completion_only: bool,
    mask_observations: bool,
    max_length: int,
) -> tuple["Dataset", int]:
    """A trainer-ready dataset and the number of examples left out for exceeding
    `max_length`: cutting them would train the planner on plans that stop mid-way."""
    from datasets import Dataset

    rows = [
        encode(e, tokenizer, completion_only=completion_only, mask_observations=mask_observations)
        for e in examples
    ]
    if mask_observations and all(IGNORE_INDEX not in row["labels"] for row in rows):
        raise DatasetError(
            "mask_observations: no tool results found in any prompt (expected scratchpad "
            "lines '   result: …' as schemas.trajectory.Scratchpad renders them)"
        )
    kept = [row for row in rows if len(row["input_ids"]) <= max_length]
    if not kept:
        raise DatasetError(f"every example is longer than max_length={max_length} tokens")
    return Dataset.from_list(kept), len(rows) - len(kept)
