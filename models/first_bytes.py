"""The vocabulary as llama.cpp's grammar sees it — each token's bytes, the end-of-generation
tokens, the tokens grouped by first byte — and a grammar probe with one token per group.

llama.cpp's grammar admits a token only if it admits the token's first byte (it matches
bytes left to right). So asking the grammar about one token per first byte — the token
that is that single byte, or every token of the group when the vocabulary has no such token
— tells in one call which bytes may come next, whether the grammar may end, and which
tokens are candidates at all. The fast decoder uses it to find forced text (one byte
allowed), to see that only the end is left, and to mask only the candidates when the
model's choice is refused.
"""

import ctypes
from dataclasses import dataclass

import llama_cpp
import numpy as np

from models.matcher import GrammarMatcher, Vocab

TOKEN_DATA = np.dtype([("id", np.intc), ("logit", np.single), ("p", np.single)], align=True)


class TokenArray:
    """A llama.cpp candidate array (`llama_token_data_array`) over a numpy record array."""

    def __init__(self, size: int) -> None:
        self.data = np.recarray((size,), dtype=TOKEN_DATA)
        self.array = llama_cpp.llama_token_data_array(
            data=self.data.ctypes.data_as(llama_cpp.llama_token_data_p),
            size=size,
            selected=-1,
            sorted=False,
        )

    def refused(self, grammar: GrammarMatcher, ids: np.ndarray) -> np.ndarray:
        """Which of `ids` (at most the array's size) `grammar` refuses, in one call."""
        n = len(ids)
        self.data.id[:n] = ids
        self.data.logit[:n] = 0.0
        self.array.size, self.array.selected, self.array.sorted = n, -1, False
        grammar.apply(self.array)
        return np.isneginf(self.data.logit[:n])


@dataclass(frozen=True)
class Probe:
    groups: np.ndarray  # the allowed first bytes, as group indices
    can_end: bool


class FirstBytes:
    def __init__(self, vocab: Vocab) -> None:
        self.vocab = vocab
        self.pieces = [_piece(vocab, token) for token in range(vocab.size)]
        is_end = [llama_cpp.llama_vocab_is_eog(vocab.ptr, t) for t in range(vocab.size)]
        self.ends = np.flatnonzero(is_end).astype(np.intc)  # the end-of-generation tokens
        groups, single = _tokens_by_first_byte(self.pieces, is_end)
        self.first_bytes = bytes(sorted(groups))
        self._members = [groups[b] for b in self.first_bytes]
        self.single = [single.get(b) for b in self.first_bytes]  # the token that is the byte
        self.byte_tokens = single  # the same, by byte
        pairs = zip(self.single, self._members, strict=True)
        probe = [[s] if s is not None else m for s, m in pairs]
        self._probe_ids = np.array([t for p in probe for t in p] + [vocab.eos], dtype=np.intc)
        self._probe_group = np.repeat(np.arange(len(probe)), [len(p) for p in probe])
        self._probe = TokenArray(len(self._probe_ids))
        self._candidates = TokenArray(vocab.size)

    def probe(self, grammar: GrammarMatcher) -> Probe:
        """The first bytes `grammar` allows next, and whether it may end here."""
        allowed = ~self._probe.refused(grammar, self._probe_ids)
        return Probe(np.unique(self._probe_group[allowed[:-1]]), bool(allowed[-1]))

    def candidates(self, groups: np.ndarray) -> np.ndarray:
        """Every token whose first byte is in `groups`."""
        if not len(groups):
            return np.zeros(0, dtype=np.intc)
        return np.concatenate([self._members[g] for g in groups])

    def refused(self, grammar: GrammarMatcher, ids: np.ndarray) -> np.ndarray:
        return self._candidates.refused(grammar, ids)

    def spell(self, text: bytes) -> list[int] | None:
        """Tokens that spell `text` exactly: the tokenizer's own split where it does (a
        SentencePiece tokenizer may add a space in front), else one token per byte; None
        when the vocabulary cannot."""
        tokens = self.vocab.tokenize_text(text)
        if b"".join(self.pieces[t] for t in tokens) == text:
            return tokens
        spelled = [self.byte_tokens.get(b) for b in text]
        return None if None in spelled else spelled  # type: ignore[return-value]


def _tokens_by_first_byte(
    pieces: list[bytes], is_end: list[bool]
) -> tuple[dict[int, np.ndarray], dict[int, int]]:
    """Token ids by the first byte of their text, and the single-byte tokens by their byte.
    End-of-generation tokens (the grammar treats them as the end, not as text) and empty
    pieces (which it refuses) are left out."""
    groups: dict[int, list[int]] = {}
    single: dict[int, int] = {}
    for token, (piece, end) in enumerate(zip(pieces, is_end, strict=True)):
        if end:
            continue
        if piece:
            groups.setdefault(piece[0], []).append(token)
        if len(piece) == 1:
            single.setdefault(piece[0], token)
    return {b: np.array(ts, dtype=np.intc) for b, ts in groups.items()}, single


def _piece(vocab: Vocab, token: int) -> bytes:
    """A token's text as llama.cpp's grammar sees it (special tokens rendered), whatever its
    length (`Vocab.piece` gives up beyond 64 bytes, and a candidate must never be missed)."""
    size = 64
    while True:
        buf = ctypes.create_string_buffer(size)
        n = llama_cpp.llama_token_to_piece(vocab.ptr, token, buf, size, 0, True)
        if n >= 0:
            return buf.raw[:n]
        size = -n
