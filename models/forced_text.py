"""What a grammar forces next: text that needs no choice, so no forward pass per token.

After a token, a JSON grammar often admits exactly one continuation for a while: the
punctuation and key after a closed string (`","thoughts":"`), the rest of an enum value
once its prefix is unique, the closing `"}`. Those bytes are found with the first-byte probe
(`models.first_bytes`): when exactly one byte is allowed and the grammar cannot end there,
that byte is forced; a copy of the grammar state takes it and is probed again. When nothing
but the end is allowed, the generation is complete.

Forced text can be fed to the model in one batch (see `models.fast_decoding`), but as which
tokens? The tokenizer's own split of the text alone is not always the model's: the bundled
model writes `":` then `"` where the tokenizer makes `":"` one token, and what it writes next
depends on it. So the first time a forced text comes up, the decoder lets the model spell it
token by token and the split it chose is remembered (`learn`); from then on that split is
the draft, which the decoder checks token by token against the model's choice (a draft the
model would split otherwise costs a batch, not the plan). A fine-tuned planner spells its
JSON the way its training examples were tokenized, so there the two agree.

Splits are remembered per *scope*, the prompt's system turn (a planner's, a tool's): under
the fine-tuned planner's prompt the bundled model writes `though`+`ts`+`":"`, under another
prompt `thought`+`s`+`":`. And only the tokens that lie wholly inside the forced text are
remembered: where the model's last token reaches past it (`"I` after `":`), the rest of the
forced text is left to the model's choice, which can write that token again.
"""

from collections.abc import Hashable
from dataclasses import dataclass

from models.first_bytes import FirstBytes
from models.matcher import GrammarMatcher

MAX_FORCED_BYTES = 256


LEARNED_MAX = 4096  # forced texts whose split by the model is remembered (all scopes)
# Bytes of free text: when two of them are allowed, nothing is forced, which a few one-token
# checks tell for less than a probe of every first byte (most tokens are inside strings).
_FREE_TEXT = b"e a0tos1"


@dataclass(frozen=True)
class Forced:
    tokens: list[int]  # the model's own split of the forced text, once learned
    ends: bool  # after these tokens the grammar admits only the end of generation
    text: bytes = b""
    learned: bool = True  # False: the model has not spelled this text yet (tokens is empty)


class ForcedText:
    def __init__(self, first_bytes: FirstBytes) -> None:
        self.first_bytes = first_bytes
        self._learned: dict[bytes, list[int]] = {}
        tokens = first_bytes.byte_tokens
        self._free_text = [tokens[b] for b in _FREE_TEXT if b in tokens]

    def after(
        self, grammar: GrammarMatcher, max_bytes: int = MAX_FORCED_BYTES, scope: Hashable = None
    ) -> Forced:
        """The forced text after `grammar`'s current state (which is left as it is), at most
        `max_bytes` of it (0: only whether the grammar admits nothing but the end), with the
        split the model chose for it in `scope`."""
        if self._free(grammar):
            return Forced([], False)
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
        tokens = self._learned.get((scope, text)) if text else []
        if tokens is None:
            return Forced([], False, text, learned=False)
        # Ending is only safe when the tokens carry every forced byte.
        return Forced(tokens, ends and self._spelled(tokens) == len(forced), text)

    def _free(self, grammar: GrammarMatcher) -> bool:
        """Whether two bytes of free text are allowed (then nothing is forced, and more
        than the end is allowed)."""
        allowed = 0
        for token in self._free_text:
            allowed += grammar.allows(token)
            if allowed == 2:
                return True
        return False

    def learn(self, text: bytes, chosen: list[int], scope: Hashable = None) -> None:
        """Remember how the model spelled `text` in `scope`: the tokens of `chosen` (what it
        chose from where the text was forced) that spell a start of it. The rest, where its
        last token reaches past the forced text, stays the model's to choose."""
        spelled, tokens = 0, []
        for token in chosen:
            piece = self.first_bytes.pieces[token]
            if not text.startswith(piece, spelled):
                break
            tokens.append(token)
            spelled += len(piece)
        if len(self._learned) >= LEARNED_MAX:
            self._learned.clear()
        self._learned[scope, text] = tokens

    def _spelled(self, tokens: list[int]) -> int:
        return sum(len(self.first_bytes.pieces[t]) for t in tokens)


def _whole_characters(data: bytes) -> bytes:
    """The longest start of `data` that is whole UTF-8 characters (the tokenizer's input)."""
    try:
        data.decode()
    except UnicodeDecodeError as e:
        return data[: e.start]
    return data
