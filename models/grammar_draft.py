"""What a grammar forces next, as a draft for speculative decoding.

After a token, a JSON grammar often admits exactly one continuation for a while: the
punctuation and key after a closed string (`","thoughts":"`), the rest of an enum value
once its prefix is unique, the closing `"}`. Those bytes are found with the first-byte probe
(`models.first_bytes`): when exactly one byte is allowed and the grammar cannot end there,
that byte is forced; a copy of the grammar state takes it and is probed again. The forced
bytes, tokenized on their own, are the draft. The model verifies it (see
`models.fast_decoding`), so a draft tokenized differently from what the model would write
costs speed, never correctness. When nothing but the end is allowed, the generation is
complete.
"""

from dataclasses import dataclass

import llama_cpp

from models.first_bytes import FirstBytes
from models.matcher import GrammarMatcher

MAX_FORCED_BYTES = 256


LEARNED_MAX = 4096  # forced texts whose tokenization by the model is remembered


@dataclass(frozen=True)
class Draft:
    tokens: list[int]
    ends: bool  # after these tokens the grammar admits only the end of generation
    text: bytes = b""  # the forced text the tokens spell


class GrammarDraft:
    def __init__(self, first_bytes: FirstBytes) -> None:
        self.first_bytes = first_bytes
        # How the model itself split a forced text into tokens (a start of it), which is not
        # always how the tokenizer splits the text alone: `":` then `"` rather than `":"`.
        self._learned: dict[bytes, list[int]] = {}

    def propose(self, grammar: GrammarMatcher, max_bytes: int = MAX_FORCED_BYTES) -> Draft:
        """The draft after `grammar`'s current state (which is left as it is), of at most
        `max_bytes` forced bytes (0: only whether the grammar admits nothing but the end)."""
        fb, state, forced, ends = self.first_bytes, grammar, bytearray(), False
        while True:
            probe = fb.probe(state)
            group = int(probe.groups[0]) if len(probe.groups) == 1 else None
            if probe.can_end or group is None or fb.single[group] is None:
                ends = probe.can_end and len(probe.groups) == 0
                break
            if len(forced) == max_bytes:
                break
            if state is grammar:
                state = grammar.clone()
            state.accept(fb.single[group])
            forced.append(fb.first_bytes[group])
        text = _whole_characters(bytes(forced))
        # Ending is only safe when the draft carries every forced byte.
        return Draft(self._tokens_for(text), ends and len(text) == len(forced), text)

    def learn(self, draft: Draft, chosen: list[int]) -> None:
        """Remember the model's own tokens for `draft.text`: those of `chosen` (what it chose
        where the draft was offered) that spell a start of the text."""
        spelled, tokens = 0, []
        for token in chosen:
            piece = self.first_bytes.pieces[token]
            if not draft.text.startswith(piece, spelled):
                break
            tokens.append(token)
            spelled += len(piece)
        if spelled > self._spelled(self._learned.get(draft.text, [])):
            if len(self._learned) >= LEARNED_MAX:
                self._learned.clear()
            self._learned[draft.text] = tokens

    def _tokens_for(self, text: bytes) -> list[int]:
        learned = self._learned.get(text, [])
        return learned + self._tokenize(text[self._spelled(learned) :])

    def _spelled(self, tokens: list[int]) -> int:
        return sum(len(self.first_bytes.pieces[t]) for t in tokens)

    def _tokenize(self, text: bytes) -> list[int]:
        if not text:
            return []
        buf = (llama_cpp.llama_token * (len(text) + 1))()
        vocab = self.first_bytes.vocab.ptr
        # Plain text: a forced "<|im_end|>" inside a JSON string is characters, not the token.
        n = llama_cpp.llama_tokenize(vocab, text, len(text), buf, len(buf), False, False)
        return list(buf[:n]) if n > 0 else []


def _whole_characters(data: bytes) -> bytes:
    """The longest start of `data` that is whole UTF-8 characters (the tokenizer's input)."""
    try:
        data.decode()
    except UnicodeDecodeError as e:
        return data[: e.start]
    return data
