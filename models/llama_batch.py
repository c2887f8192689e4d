"""The token sequence in a `Llama` object's KV cache: evaluated the same way by every
decoder, extended a batch at a time, cut back, and what a batch costs on this machine.

Evaluation goes through `Llama.eval` (logits of a batch's last token only, as llama-cpp-
python's own loop has them), so the object's bookkeeping (`input_ids`, `n_tokens`) stays in
step and the next generation, by any decoder, reuses the cache correctly. Cutting back
removes positions from the cache with `llama_memory_seq_rm`.
"""

import statistics
import time
from collections.abc import Sequence

import llama_cpp
import numpy as np

from models.chat_model import ModelError

_SEQ = 0  # the one sequence a Llama object decodes


class BatchEvaluator:
    """The token sequence in one `Llama` object's KV cache."""

    def __init__(self, llm: llama_cpp.Llama) -> None:
        self.llm = llm
        self._n_vocab = llm.n_vocab()
        self._memory = llama_cpp.llama_get_memory(llm.ctx)

    @property
    def n_tokens(self) -> int:
        return self.llm.n_tokens

    def room(self) -> int:
        """How many more tokens the context holds."""
        return self.llm.n_ctx() - self.llm.n_tokens

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
        cached = common_prefix(llm.input_ids[: llm.n_tokens], prompt)
        self.truncate(min(cached, len(prompt) - 1))
        llm.eval(prompt[llm.n_tokens : len(prompt) - 1])

    def start(self, prompt: Sequence[int]) -> np.ndarray:
        """`prefill`, then the last prompt token alone; the logits after it."""
        self.prefill(prompt)
        return self.extend(prompt[-1:])

    def extend(self, tokens: Sequence[int]) -> np.ndarray:
        """Evaluate `tokens` after the sequence; the logits after the last of them (a copy:
        llama.cpp reuses its buffer)."""
        if len(tokens) > self.room():
            raise ModelError("the context window is full: no room for another token")
        self.llm.eval(tokens)
        pointer = llama_cpp.llama_get_logits_ith(self.llm.ctx, -1)
        return np.ctypeslib.as_array(pointer, shape=(self._n_vocab,)).copy()

    def extend_each(self, tokens: Sequence[int]) -> np.ndarray:
        """Evaluate `tokens` after the sequence, in one batch; the logits after each of them,
        one row per token (what verifying a draft needs). As `Llama.eval` does it, but with
        every row's logits kept, which `Llama.eval` keeps only for a model loaded with
        `logits_all` (and then for its whole prompt too)."""
        llm, n = self.llm, len(tokens)
        if n > self.room():
            raise ModelError("the context window is full: no room for another token")
        if n > llm.n_batch:
            return np.concatenate([self.extend_each(tokens[:llm.n_batch]),
                                   self.extend_each(tokens[llm.n_batch:])])  # fmt: skip
        n_past = llm.n_tokens
        llm._ctx.kv_cache_seq_rm(-1, n_past, -1)
        llm._batch.set_batch(batch=tokens, n_past=n_past, logits_all=True)
        llm._ctx.decode(llm._batch)
        llm.input_ids[n_past : n_past + n] = tokens
        llm.n_tokens += n
        if hasattr(llm, "evaluated"):  # a model that counts what it evaluates (models.llamacpp)
            llm.evaluated += n
        llm._requires_eval = False
        pointer = llama_cpp.llama_get_logits(llm.ctx)
        return np.ctypeslib.as_array(pointer, shape=(n, self._n_vocab)).copy()

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

    def batch_is_exact(self, prefix: Sequence[int], tokens: Sequence[int]) -> bool:
        """After `prefix`, whether a batch of `tokens` gives, row by row, the logits its
        tokens give one at a time, bit for bit. It empties the cache.

        What decides it is how llama.cpp computes: on a CPU, a build with llamafile's
        tinyBLAS (GGML_LLAMAFILE, on by default) multiplies f16 and Q8_0 matrices by another
        kernel for two tokens or more, so attention over the f16 KV cache sums in another
        order (up to 0.75 apart on the bundled model's logits). With flash attention
        attention is no matrix product, but a one-token pass on several threads splits it
        over the cached cells once they reach 512, which a short check cannot see: so flash
        attention counts as exact only with one-token passes on one thread. A GPU's kernels
        for one token and for a batch differ too."""
        ctx = self.llm.ctx
        flash = self.llm.context_params.flash_attn_type == llama_cpp.LLAMA_FLASH_ATTN_TYPE_ENABLED
        if flash and llama_cpp.llama_n_threads(ctx) > 1:
            return False
        self.truncate(0)
        self.extend(prefix)
        singles = [self.extend([token]) for token in tokens]
        self.truncate(len(prefix))
        rows = self.extend_each(tokens)
        self.truncate(0)
        return all(np.array_equal(single, row) for single, row in zip(singles, rows, strict=True))

    def batch_cost(self, prefix: Sequence[int], tokens: Sequence[int]) -> float:
        """After `prefix`, the time of `tokens` in one batch over their time one at a time
        (median of three each). It empties the cache.

        A GPU, or a CPU running a model too large for its caches, pays for a batch almost
        once; a compute-bound CPU pays for it almost per token (a batch of 8 measured at
        0.6-0.75 of its tokens' single passes on a 2-core machine)."""
        self.truncate(0)
        self.extend(prefix)
        single, batched = [], []
        for _ in range(3):
            self.truncate(len(prefix))
            start = time.perf_counter()
            for token in tokens:
                self.extend([token])
            single.append(time.perf_counter() - start)
            self.truncate(len(prefix))
            start = time.perf_counter()
            self.extend(tokens)
            batched.append(time.perf_counter() - start)
        self.truncate(0)
        return statistics.median(batched) / statistics.median(single)


def common_prefix(cached: np.ndarray, prompt: Sequence[int]) -> int:
    """How many tokens `prompt` shares with the start of `cached`."""
    n = min(len(cached), len(prompt))
    differs = np.flatnonzero(cached[:n] != np.asarray(prompt[:n], dtype=cached.dtype))
    return int(differs[0]) if differs.size else n
