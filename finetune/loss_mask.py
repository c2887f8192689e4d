"""Token ids and labels for an example: which tokens the loss is computed on.

An example is rendered with the base model's chat template exactly as the planner sees it
at inference: each plan follows the generation prompt the planner was given before it. A
token that touches a masked span gets the label -100 and adds nothing to the loss:
- completion-only: everything but the plans (and the end-of-turn token after each, so the
  model learns to stop) is masked;
- full sequence with `mask_observations`: only the tool results are masked, so the model
  is not trained to predict what a tool will return.

`layout` says how a trajectory becomes rows: one row holding every plan ("trajectory"), or
one row per plan that repeats the conversation before it ("step", the layout of per-step
SFT, kept to measure what the trajectory layout saves).

`decision_weight` (≠ 1) adds a `weights` column: the tokens where a plan decides (its
thoughts and its tool) weigh that much in the loss, every other learned token 1. The rest
of a plan restates the request or copies earlier results; the decisions are a few tokens
of ~100 and get lost in the mean (`finetune.weighted_loss`).
"""

from collections.abc import Sequence
from typing import TYPE_CHECKING, Literal

from finetune.sft_data import DatasetError
from planner.prompts import RESULT
from schemas.dataset import SFTExample

if TYPE_CHECKING:
    from datasets import Dataset
    from transformers import PreTrainedTokenizerBase

IGNORE_INDEX = -100
WEIGHTS = "weights"  # the column of per-token loss weights (finetune.weighted_loss)
Layout = Literal["trajectory", "step"]
Span = tuple[int, int]
_RESULT_PREFIX = RESULT.split("{", 1)[0]
# Where a plan's decisions sit in its compact JSON (planner.prompts.plan_text): a key's
# quotes are bare only outside string values, where a quote is always escaped.
_DECISIONS = (('"thoughts":"', '","task":"'), ('"tool":"', '"}'))


def _render(tokenizer: "PreTrainedTokenizerBase", messages, generation: bool = False) -> str:
    return tokenizer.apply_chat_template(
        [m.model_dump() for m in messages], tokenize=False, add_generation_prompt=generation
    )


def plan_spans(example: SFTExample, tokenizer: "PreTrainedTokenizerBase") -> tuple[str, list[Span]]:
    """The rendered conversation and the character span of every plan in it (from the end
    of its generation prompt to the end of its turn)."""
    text = _render(tokenizer, example.messages)
    spans = []
    for i, message in enumerate(example.messages):
        if message.role != "assistant":
            continue
        start = len(_render(tokenizer, example.messages[:i], generation=True))
        end = len(_render(tokenizer, example.messages[: i + 1]))
        if not text.startswith(_render(tokenizer, example.messages[: i + 1])):
            raise DatasetError(
                f"{example.request_id}: the chat template renders the conversation differently "
                "once it goes on; plan labels would be wrong"
            )
        spans.append((start, end))
    if not spans:
        raise DatasetError(f"{example.request_id}: the example has no plan to learn")
    return text, spans


def encode(
    example: SFTExample,
    tokenizer: "PreTrainedTokenizerBase",
    *,
    completion_only: bool,
    mask_observations: bool = False,
    layout: Layout = "trajectory",
    decision_weight: float = 1.0,
) -> list[dict[str, list]]:
    """`input_ids` and `labels` (-100 where masked), and `weights` with a decision weight:
    one row, or one per plan."""
    text, plans = plan_spans(example, tokenizer)
    encoding = tokenizer(text, add_special_tokens=False, return_offsets_mapping=True)
    ids, offsets = encoding["input_ids"], encoding["offset_mapping"]
    if completion_only:
        learned = plans
    else:
        masked = _observation_spans(example, text) if mask_observations else []
        learned = [(0, len(text))] if not masked else _gaps(masked, len(text))
    labels = [
        token if _inside(span, learned) else IGNORE_INDEX
        for token, span in zip(ids, offsets, strict=True)
    ]
    columns = {"input_ids": ids, "labels": labels}
    if decision_weight != 1.0:
        decisions = _decision_spans(text, plans)
        columns[WEIGHTS] = [
            decision_weight if _overlaps(span, decisions) else 1.0 for span in offsets
        ]
    if layout == "trajectory":
        return [columns]
    rows, done = [], 0
    for _, end in plans:  # each plan after everything before it; each token learned once
        cut = next((i for i, (a, _) in enumerate(offsets) if a >= end), len(ids))
        row = {name: values[:cut] for name, values in columns.items()}
        row["labels"] = [IGNORE_INDEX] * done + labels[done:cut]
        rows.append(row)
        done = cut
    return rows


def _overlaps(token: Span, spans: list[Span]) -> bool:
    """A token that holds any part of a decision ('.","' ends a thought) carries it."""
    return any(token[0] < b and a < token[1] for a, b in spans)


def _decision_spans(text: str, plans: list[Span]) -> list[Span]:
    """The character spans of every plan's thoughts and tool values."""
    spans = []
    for start, end in plans:
        for opening, closing in _DECISIONS:
            at = text.find(opening, start, end)
            close = text.find(closing, at + len(opening), end) if at >= 0 else -1
            if close >= 0:  # else not the planner's JSON (a tool caller's call): no decision
                spans.append((at + len(opening), close))
    return spans


def _inside(token: Span, spans: list[Span]) -> bool:
    """A token is learned only when it lies wholly inside a learned span: " 42" carries
    the space before a tool result and its first digits, and must not be learned."""
    start, end = token[0], max(token[1], token[0] + 1)
    return any(a <= start and end <= b for a, b in spans)


def _observation_spans(example: SFTExample, text: str) -> list[Span]:
    """The tool results' spans in the rendered text, found in order (a template may trim
    or wrap a message, so spans are searched for rather than computed)."""
    spans, cursor = [], 0
    for message in example.messages:
        if message.role != "user" or not message.content.startswith(_RESULT_PREFIX):
            continue
        result = message.content[len(_RESULT_PREFIX) :]
        found = text.find(result, cursor)
        if found >= 0:
            cursor = found + len(result)
            spans.append((found, cursor))
    return spans


def _gaps(masked: list[Span], length: int) -> list[Span]:
    gaps, cursor = [], 0
    for a, b in masked:
        gaps.append((cursor, a))
        cursor = b
    return [*gaps, (cursor, length)]


def encode_all(
    examples: Sequence[SFTExample],
    tokenizer: "PreTrainedTokenizerBase",
    *,
    completion_only: bool,
    mask_observations: bool,
    max_length: int,
    layout: Layout = "trajectory",
    decision_weight: float = 1.0,
) -> tuple["Dataset", int]:
    """A trainer-ready dataset and the number of examples left out for exceeding
    `max_length`: cutting them would train the planner on plans that stop mid-way."""
    from datasets import Dataset

    if mask_observations and not any(
        _observation_spans(e, _render(tokenizer, e.messages)) for e in examples
    ):
        raise DatasetError(
            "mask_observations: no tool results found in any example (expected user messages "
            f"'{_RESULT_PREFIX}…' as planner.prompts renders them)"
        )
    encoded = [
        encode(e, tokenizer, completion_only=completion_only, mask_observations=mask_observations,
               layout=layout, decision_weight=decision_weight)
        for e in examples
    ]  # fmt: skip
    kept = [rows for rows in encoded if all(len(r["input_ids"]) <= max_length for r in rows)]
    if not kept:
        raise DatasetError(f"every example is longer than max_length={max_length} tokens")
    return Dataset.from_list([row for rows in kept for row in rows]), len(encoded) - len(kept)
