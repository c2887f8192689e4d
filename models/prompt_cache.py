"""Several cached prompt prefixes over one llama.cpp context: the planner's and each tool's.

A `Llama` object decodes one sequence, and a call reuses the part of its prompt that the KV
cache already holds. In an agent run the planner and the tools that call the same model
(deriving e-mail or event arguments, the calculator's fallback) take turns, so each call
overwrote the other's prefix and the next planning step read its whole prompt again. Here
the sequence a call is about to overwrite is saved first when it holds a prefix worth
keeping: `llama_state_seq_get_data` copies the KV entries of its positions to host memory.
Before each call, the saved sequence that shares the longest prefix with the new prompt is
restored when it beats what the cache holds. Callers need not know: the match is by tokens,
so each caller finds its own prefix again.

Why saved states rather than llama.cpp's own several sequences in one context: with
`kv_unified` every sequence's attention runs over all sequences' cells (masked), so a
planner step would pay for the tools' cells too; without it each sequence gets a fixed
n_ctx / n_seq slice; and llama-cpp-python's `Llama.eval` and `generate` clear positions of
every sequence (`seq_id -1`). Separate contexts over one set of weights would each hold a
full-size KV cache and compute buffers. A saved state costs host memory for the positions
it holds (23 KB a token on the bundled model, about 128 KB on a 7B) and a copy to switch:
bench/prefix_reuse.py measures both, beside re-reading the prompt.
"""

import ctypes
import itertools
import time
from dataclasses import dataclass

import llama_cpp
import numpy as np

from models.llama_batch import common_prefix

KEEP = 4  # saved sequences at most
MAX_BYTES = 2 << 30  # ... and their total size
MIN_KEEP = 32  # a sequence is saved when a call would drop at least this many of its tokens
MIN_GAIN = 16  # ... and restored when it shares this many more tokens than the live one
_SEQ = 0


@dataclass
class _Saved:
    tokens: np.ndarray
    state: ctypes.Array
    used: int  # when it was last saved or restored (least recently used goes first)


@dataclass
class CacheStats:
    saved: int = 0
    restored: int = 0
    saved_bytes: int = 0  # held now
    save_ms: float = 0.0
    restore_ms: float = 0.0


class PromptCache:
    def __init__(self, llm: llama_cpp.Llama, keep: int = KEEP) -> None:
        self.llm, self.keep = llm, keep
        self._saved: list[_Saved] = []
        self._clock = itertools.count()
        self._memory = llama_cpp.llama_get_memory(llm.ctx)
        self.stats = CacheStats()

    def prepare(self, prompt: list[int]) -> None:
        """Put the best cached prefix of `prompt` in the context, saving the live sequence
        first when the call would destroy a prefix worth keeping."""
        if self.keep < 1:
            return
        live = self.llm.input_ids[: self.llm.n_tokens]
        shared = common_prefix(live, prompt)
        best = max(self._saved, key=lambda s: common_prefix(s.tokens, prompt), default=None)
        gain = common_prefix(best.tokens, prompt) - shared if best else 0
        if len(live) - shared >= MIN_KEEP and not self._holds(live):
            self._save(live.copy())
        if best is not None and gain >= MIN_GAIN:
            self._restore(best)

    def _holds(self, tokens: np.ndarray) -> bool:
        return any(common_prefix(s.tokens, tokens) == len(tokens) for s in self._saved)

    def _save(self, tokens: np.ndarray) -> None:
        start = time.perf_counter()
        llama_cpp.llama_memory_seq_rm(self._memory, _SEQ, len(tokens), -1)
        size = llama_cpp.llama_state_seq_get_size(self.llm.ctx, _SEQ)
        state = (ctypes.c_uint8 * size)()
        if llama_cpp.llama_state_seq_get_data(self.llm.ctx, state, size, _SEQ) != size:
            return
        # One caller's newer prefix replaces its older one: a saved sequence that this one
        # mostly repeats is dropped.
        self._saved = [
            s for s in self._saved if common_prefix(s.tokens, tokens) * 2 <= len(s.tokens)
        ]
        self._saved.append(_Saved(tokens, state, next(self._clock)))
        self._saved.sort(key=lambda s: s.used, reverse=True)
        while len(self._saved) > self.keep or self._bytes() > MAX_BYTES:
            self._saved.pop()
        self.stats.saved += 1
        self.stats.saved_bytes = self._bytes()
        self.stats.save_ms += (time.perf_counter() - start) * 1000

    def _restore(self, saved: _Saved) -> None:
        start = time.perf_counter()
        llm = self.llm
        llama_cpp.llama_memory_seq_rm(self._memory, _SEQ, -1, -1)
        n = len(saved.tokens)
        if llama_cpp.llama_state_seq_set_data(llm.ctx, saved.state, len(saved.state), _SEQ):
            llm.input_ids[:n] = saved.tokens
            llm.n_tokens = n
        else:  # refused (a full context): start from nothing rather than from a mix
            llm.n_tokens = 0
        llm._requires_eval = True
        saved.used = next(self._clock)
        self.stats.restored += 1
        self.stats.restore_ms += (time.perf_counter() - start) * 1000

    def clear(self) -> None:
        """Forget the saved sequences (the live one stays)."""
        self._saved.clear()
        self.stats.saved_bytes = 0

    def held_tokens(self) -> int:
        """Tokens in the saved sequences."""
        return sum(len(s.tokens) for s in self._saved)

    def _bytes(self) -> int:
        return sum(len(s.state) for s in self._saved)
