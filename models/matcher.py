"""llama.cpp's grammar engine, driven token by token.

The sampler that llama.cpp uses to enforce a grammar, applied to single candidate tokens:
`allows(token)` asks whether the grammar admits a token in the current state without
touching the rest of the vocabulary, `accept(token)` advances it. Used to prove grammars
(tokenize a text, feed it through) and by the fast decoder (check only the sampled token).
"""

import ctypes
from collections.abc import Callable
from functools import cached_property
from pathlib import Path

import llama_cpp

from schemas.errors import WaypointError


class GrammarLoadError(WaypointError):
    pass


class Untokenizable(ValueError):
    pass


class Vocab:
    """A model's vocabulary, loaded without its weights (fast)."""

    def __init__(self, model_path: Path | str) -> None:
        llama_cpp.llama_backend_init()
        params = llama_cpp.llama_model_default_params()
        params.vocab_only = True
        self._model = llama_cpp.llama_model_load_from_file(str(model_path).encode(), params)
        if not self._model:
            raise WaypointError(f"cannot load the vocabulary of {model_path}")
        self.ptr = llama_cpp.llama_model_get_vocab(self._model)

    @classmethod
    def from_model(cls, model: "llama_cpp.Llama") -> "Vocab":
        vocab = cls.__new__(cls)
        vocab._model = None  # owned by the Llama object
        vocab.ptr = llama_cpp.llama_model_get_vocab(model.model)
        return vocab

    def __del__(self) -> None:
        if getattr(self, "_model", None):
            llama_cpp.llama_model_free(self._model)
            self._model = None

    @cached_property
    def eos(self) -> int:
        return llama_cpp.llama_vocab_eos(self.ptr)

    @cached_property
    def size(self) -> int:
        return llama_cpp.llama_vocab_n_tokens(self.ptr)

    def tokenize(self, text: str) -> list[int]:
        data = text.encode()
        buf = (llama_cpp.llama_token * (len(data) + 8))()
        n = llama_cpp.llama_tokenize(self.ptr, data, len(data), buf, len(buf), False, True)
        if n < 0:
            raise ValueError(f"tokenization of {len(data)} bytes failed")
        return list(buf[:n])

    def tokenize_text(self, data: bytes) -> list[int]:
        """`data` as plain text, the tokenizer's own split: a special token's name in it
        stays characters (a forced "<|im_end|>" inside a JSON string is not the token)."""
        if not data:
            return []
        buf = (llama_cpp.llama_token * (len(data) + 1))()
        n = llama_cpp.llama_tokenize(self.ptr, data, len(data), buf, len(buf), False, False)
        if n < 0:
            raise ValueError(f"tokenization of {len(data)} bytes failed")
        return list(buf[:n])

    def piece(self, token: int) -> bytes:
        buf = ctypes.create_string_buffer(64)
        n = llama_cpp.llama_token_to_piece(self.ptr, token, buf, len(buf), 0, True)
        return buf.raw[:n] if n >= 0 else b""


class GrammarMatcher:
    """One grammar state over a vocabulary."""

    def __init__(self, vocab: Vocab, gbnf: str, root: str = "root") -> None:
        self.vocab = vocab
        self._sampler = llama_cpp.llama_sampler_init_grammar(
            vocab.ptr, gbnf.encode(), root.encode()
        )
        if not self._sampler:
            raise GrammarLoadError("llama.cpp could not parse the grammar (see its log above)")
        self._one = (llama_cpp.llama_token_data * 1)()
        self._one_array = llama_cpp.llama_token_data_array(
            data=self._one, size=1, selected=-1, sorted=False
        )

    def __del__(self) -> None:
        if getattr(self, "_sampler", None):
            llama_cpp.llama_sampler_free(self._sampler)
            self._sampler = None

    def allows(self, token: int) -> bool:
        """Whether the grammar admits `token` next (EOS: whether the grammar can end here)."""
        self._one[0].id = token
        self._one[0].logit = 0.0
        self._one_array.size = 1
        self._one_array.selected = -1
        llama_cpp.llama_sampler_apply(self._sampler, ctypes.byref(self._one_array))
        return self._one[0].logit != float("-inf")

    def accept(self, token: int) -> None:
        """Advance by `token`; the caller must have checked `allows(token)` (llama.cpp aborts
        the process on a token its grammar rejects)."""
        llama_cpp.llama_sampler_accept(self._sampler, token)

    def can_end(self) -> bool:
        return self.allows(self.vocab.eos)

    def apply(self, candidates: "llama_cpp.llama_token_data_array") -> None:
        """Mask a whole candidate array (logit -inf where the grammar forbids a token)."""
        llama_cpp.llama_sampler_apply(self._sampler, ctypes.byref(candidates))

    def clone(self) -> "GrammarMatcher":
        twin = GrammarMatcher.__new__(GrammarMatcher)
        twin.vocab = self.vocab
        twin._sampler = llama_cpp.llama_sampler_clone(self._sampler)
        twin._one = (llama_cpp.llama_token_data * 1)()
        twin._one_array = llama_cpp.llama_token_data_array(
            data=twin._one, size=1, selected=-1, sorted=False
        )
        return twin

    def match(self, text: str) -> tuple[bool, str]:
        """Feed `text` token by token: (accepted and complete, a reason when not).

        Raises Untokenizable when the vocabulary cannot spell `text` (a model with this
        vocabulary can never produce it, so there is nothing to check)."""
        tokens = self.vocab.tokenize(text)
        if b"".join(self.vocab.piece(t) for t in tokens) != text.encode():
            raise Untokenizable(f"the vocabulary cannot spell {text[:60]!r}")
        consumed = b""
        for token in tokens:
            if not self.allows(token):
                return False, f"rejected after {consumed.decode(errors='replace')!r}"
            self.accept(token)
            consumed += self.vocab.piece(token)
        if not self.can_end():
            return False, "incomplete: the grammar cannot end here"
        return True, ""


def grammar_accepts(vocab: Vocab, gbnf: str, text: str) -> bool:
    return GrammarMatcher(vocab, gbnf).match(text)[0]


def acceptor(vocab: Vocab, gbnf: str) -> Callable[[str], bool | None]:
    """A grammar loaded once: text -> accepted (None: the vocabulary cannot spell it).
    Raises GrammarLoadError for a grammar llama.cpp cannot parse."""
    GrammarMatcher(vocab, gbnf)

    def accepts(text: str) -> bool | None:
        try:
            return GrammarMatcher(vocab, gbnf).match(text)[0]
        except Untokenizable:
            return None

    return accepts
