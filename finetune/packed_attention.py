"""Attention for packed rows, one example at a time.

A packed row holds several examples end to end, each with positions from 0; none may attend
to another. transformers keeps them apart with a block-diagonal mask over the whole row: the
attention kernel then scores every pair of tokens in the row and, with a mask, cannot skip
the future half. Here each example is its own causal attention call, over its own tokens
only: the same values (`tests/test_finetune_data.py`), a fraction of the work (a row of
three ~340-token examples scores a third of the pairs, half of them skipped as causal).
`bench/train_speed.py` measures what it saves in training against the masked row.
"""

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import torch

NAME = "packed_sdpa"  # registered with transformers by `register()`


def packed_attention(
    module: "torch.nn.Module",
    query: "torch.Tensor",
    key: "torch.Tensor",
    value: "torch.Tensor",
    attention_mask: "torch.Tensor | None",
    **kwargs: Any,
) -> tuple["torch.Tensor", None]:
    """transformers' SDPA attention on each example of the row (batch of one, as padding-free
    collation makes it): an example starts where its position is 0."""
    import torch
    from transformers.integrations.sdpa_attention import sdpa_attention_forward

    positions = kwargs.pop("position_ids", None)
    if query.shape[0] != 1 or positions is None:
        raise ValueError(f"{NAME} attends over one packed row with its position_ids")
    starts = sorted({0, *(positions[0] == 0).nonzero().flatten().tolist()})
    bounds = zip(starts, [*starts[1:], positions.shape[1]], strict=True)
    kwargs.pop("is_causal", None)
    outputs = [
        sdpa_attention_forward(
            module, query[:, :, a:b], key[:, :, a:b], value[:, :, a:b], None, is_causal=True,
            **kwargs,
        )[0]
        for a, b in bounds
    ]  # fmt: skip
    return torch.cat(outputs, dim=1), None


def no_mask(*args: Any, **kwargs: Any) -> None:
    """No row-wide mask to build: each example is attended to causally on its own."""
    return None


def register() -> None:
    """Make `NAME` an attention implementation transformers can load a model with."""
    from transformers import AttentionInterface
    from transformers.masking_utils import AttentionMaskInterface

    AttentionInterface.register(NAME, packed_attention)
    AttentionMaskInterface.register(NAME, no_mask)
