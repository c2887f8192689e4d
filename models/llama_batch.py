"""Batched evaluation with logits at every position, and rollback of the KV cache.

Verifying a draft needs the logits at each drafted position. llama-cpp-python's
`Llama.eval` asks llama.cpp for the logits of a batch's last token only, and its
`logits_all` switch would copy vocab × length floats for every prompt as well. So this
module writes its own `llama_batch` with a logits flag per token, reads each row with
`llama_get_logits_ith`, and removes rejected positions from the KV cache with
`llama_memory_seq_rm`. It keeps the `Llama` object's own bookkeeping (`input_ids`,
`n_tokens`) in step, so the next generation, by any decoder, reuses the cache correctly.
"""

import statistics
import time
from collections.abc import Sequence
from dataclasses import dataclass

import llama_cpp
import numpy as np

from models.chat_model import ModelError

_SEQ = 0  # the one sequence a Llama object decodes


@dataclass(frozen=True)
class BatchCheck:
    exact: bool  # batched logits equal one-token logits, bit for bit
    cost: float  # a batch's time over the time of its tokens one at a time


class BatchEvaluator:
    """The token sequence in one `Llama` object's KV cache, extended in batches."""

    def __init__(self, llm: llama_cpp.Llama) -> None:
        self.llm = llm
        self.capacity = llm.n_batch
        self._n_vocab = llm.n_vocab()
        self._batch = llama_cpp.llama_batch_init(self.capacity, 0, 1)
        self._memory = llama_cpp.llama_get_memory(llm.ctx)

    def __del__(self) -> None:
        if getattr(self, "_batch", None) is not None:
            llama_cpp.llama_batch_free(self._batch)
            self._batch = None

    @property
    def n_tokens(self) -> int:
        return self.llm.n_tokens

    def room(self) -> int:
        """How many tokens the next `extend` may take (batch size and context both bound it)."""
        return min(self.capacity, self.llm.n_ctx() - self.llm.n_tokens)

    def prefill(self, prompt: Sequence[int]) -> None:
        """Bring the cache to `prompt` without its last token, reusing the prefix it shares
        with what the cache holds; every decoder starts so (see `start`).

        Why the last token is always left out: llama.cpp's CPU kernels for one token differ
        from those for several, so a token's logits (and its entries in the KV cache) depend
        on whether it was evaluated alone or in a batch, by up to 0.5 on the bundled model.
        A prompt evaluated cold used to end in a batch, and the same prompt found cached had
        its last token evaluated alone: greedy output then depended on what the cache held
        before, and two decoders run one after the other disagreed. Evaluating the last
        prompt token alone, always, makes the computation a function of the cache's tokens.
        Through Llama.eval, as llama-cpp-python's own loop does, so evaluated tokens are
        counted the same way."""
        llm = self.llm
        cached = _common_prefix(llm.input_ids[: llm.n_tokens], prompt)
        self.truncate(min(cached, len(prompt) - 1))
        llm.eval(prompt[llm.n_tokens : len(prompt) - 1])

    def start(self, prompt: Sequence[int]) -> np.ndarray:
        """`prefill`, then the last prompt token alone; the logits after it (one row)."""
        self.prefill(prompt)
        self.llm.eval(prompt[-1:])
        return self._row(-1)[np.newaxis]

    def extend(self, tokens: Sequence[int]) -> np.ndarray:
        """Evaluate `tokens` (at most `room()`) after the sequence in one llama.cpp decode; the
        logits after each of them, one row per token (a copy: llama.cpp reuses its buffer)."""
        llm, batch, n_past = self.llm, self._batch, self.llm.n_tokens
        # Like Llama.eval: whatever the cache still holds past the sequence goes first.
        llama_cpp.llama_memory_seq_rm(self._memory, _SEQ, n_past, -1)
        batch.n_tokens = len(tokens)
        for i, token in enumerate(tokens):
            batch.token[i] = token
            batch.pos[i] = n_past + i
            batch.n_seq_id[i] = 1
            batch.seq_id[i][0] = _SEQ
            batch.logits[i] = True
        code = llama_cpp.llama_decode(llm.ctx, batch)
        if code != 0:
            raise ModelError(f"llama.cpp could not evaluate {len(tokens)} tokens (code {code})")
        llm.input_ids[n_past : n_past + len(tokens)] = tokens
        llm.n_tokens = n_past + len(tokens)
        # The logits llama.cpp holds now may not belong to the last kept token once a draft is
        # rolled back: make Llama.generate evaluate again rather than sample from them.
        llm._requires_eval = True
        return np.stack([self._row(i) for i in range(len(tokens))])

    def check_batches(self, prefix: Sequence[int], tokens: Sequence[int]) -> "BatchCheck":
        """After `prefix`, evaluate `tokens` one at a time and in one batch: are the logits the
        same, bit for bit, and what does the batch cost? It empties the cache.

        Neither is a given. Without flash attention, llama.cpp's CPU backend computes the
        attention of a multi-token batch with other kernels than that of one token (once the
        context is a few dozen tokens long), and the 8-bit quantization of activations turns
        their rounding differences into logit differences of 0.05-0.7 (measured on the
        bundled model): enough to flip a near-tie. And a compute-bound CPU pays for a batch
        almost per token (a batch of 8 cost 4.8-6.1 one-token passes on a 2-core machine),
        where a GPU pays for it almost once."""
        self.truncate(0)
        for i in range(0, len(prefix), self.capacity):
            self.extend(prefix[i : i + self.capacity])
        single, seconds = [], []
        for token in tokens:
            start = time.perf_counter()
            single.append(self.extend([token]))
            seconds.append(time.perf_counter() - start)
        batched, batch_seconds = None, []
        for _ in range(3):
            self.truncate(len(prefix))
            start = time.perf_counter()
            batched = self.extend(tokens)
            batch_seconds.append(time.perf_counter() - start)
        self.truncate(0)
        return BatchCheck(
            exact=bool(np.array_equal(np.concatenate(single), batched)),
            cost=statistics.median(batch_seconds) / (statistics.median(seconds) * len(tokens)),
        )

    def truncate(self, n_tokens: int) -> None:
        """Keep the first `n_tokens` of the sequence; drop the rest from the KV cache."""
        if n_tokens >= self.llm.n_tokens:
            return
        if not llama_cpp.llama_memory_seq_rm(self._memory, _SEQ, n_tokens, -1):
            # A cache that cannot drop a suffix (recurrent models) drops everything.
            llama_cpp.llama_memory_seq_rm(self._memory, _SEQ, 0, -1)
            n_tokens = 0
        self.llm.n_tokens = n_tokens
        self.llm._requires_eval = True

    def _row(self, i: int) -> np.ndarray:
        pointer = llama_cpp.llama_get_logits_ith(self.llm.ctx, i)
        return np.ctypeslib.as_array(pointer, shape=(self._n_vocab,))


def _common_prefix(cached: np.ndarray, prompt: Sequence[int]) -> int:
    n = min(len(cached), len(prompt))
    differs = np.flatnonzero(cached[:n] != np.asarray(prompt[:n], dtype=cached.dtype))
    return int(differs[0]) if differs.size else n
