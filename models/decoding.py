"""The replaceable decode loop of the in-process backend.

A decoder turns prompt tokens (+ an optional GBNF grammar and sampling settings) into a
stream of tokens; `LlamaCppChatModel` owns everything around it (prompt, stop strings,
max_tokens, counting, timing, validation). The `plain` decoder is llama-cpp-python's own
loop, which masks the whole vocabulary with the grammar at every step; the `fast` decoder
(`models.fast_decoding`) checks the grammar lazily, feeds forced text in batches where they
give one-token logits and pay (each token of it checked against the model's own choice),
and never cuts a constrained output at max_tokens; the `exact` decoder is the fast one
without batches. The greedy output of both is the plain decoder's. `DECODERS` names them.
"""

from collections.abc import Callable, Generator, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

import llama_cpp

from models.chat_model import ModelError
from models.llama_batch import BatchEvaluator
from models.matcher import GrammarMatcher, Vocab


@dataclass(frozen=True)
class Sampling:
    temperature: float = 0.0
    top_p: float = 1.0
    seed: int | None = None


class Decoder(Protocol):
    def tokens(
        self,
        llm: llama_cpp.Llama,
        prompt: Sequence[int],
        gbnf: str | None,
        sampling: Sampling,
        budget: int | None = None,
    ) -> Generator[int, Any, str | None]:
        """Sampled tokens after `prompt`, end-of-generation tokens included; the caller stops
        iterating (and closes the iterator) when it has enough. A decoder that knows the
        grammar is complete may also just end; one that closed the grammar early to end
        within `budget` tokens (the most the caller takes) returns "length". Reusing the KV
        cache for the part of `prompt` already evaluated is the decoder's job."""
        ...


class PlainDecoder:
    """llama-cpp-python's `Llama.generate`, with its grammar sampler over the full vocabulary."""

    def __init__(self) -> None:
        self._grammars: dict[str, llama_cpp.LlamaGrammar] = {}
        self._evaluator: BatchEvaluator | None = None

    def tokens(
        self,
        llm: llama_cpp.Llama,
        prompt: Sequence[int],
        gbnf: str | None,
        sampling: Sampling,
        budget: int | None = None,
    ) -> Generator[int, Any, None]:
        """`budget` is not heeded: a generation that runs out is cut where it stands."""
        if self._evaluator is None or self._evaluator.llm is not llm:
            self._evaluator = BatchEvaluator(llm)
        # All but the last prompt token, the way every decoder starts; Llama.generate then
        # finds them cached and evaluates the last one alone.
        self._evaluator.prefill(prompt)
        # LLAMA_DEFAULT_SEED asks llama.cpp for a fresh random seed.
        llm.set_seed(llama_cpp.LLAMA_DEFAULT_SEED if sampling.seed is None else sampling.seed)
        return llm.generate(
            prompt,
            temp=sampling.temperature,
            top_p=sampling.top_p,
            # Off, so that temperature and top_p mean what they mean in the OpenAI API.
            top_k=0,
            min_p=0.0,
            repeat_penalty=1.0,
            grammar=self._grammar(llm, gbnf) if gbnf else None,
        )

    def _grammar(self, llm: llama_cpp.Llama, gbnf: str) -> llama_cpp.LlamaGrammar:
        if gbnf not in self._grammars:
            # llama-cpp-python hands an unparsable grammar to llama.cpp unchecked (a crash):
            # parse it once with the grammar engine first, which raises a clear error.
            GrammarMatcher(Vocab.from_model(llm), gbnf)
            self._grammars[gbnf] = llama_cpp.LlamaGrammar.from_string(gbnf, verbose=False)
        return self._grammars[gbnf]


def _fast(batch_forced: bool | None = None) -> Decoder:
    from models.fast_decoding import FastDecoder  # it builds on this module

    return FastDecoder(batch_forced)


DECODERS: dict[str, Callable[[], Decoder]] = {
    "plain": PlainDecoder,
    "fast": _fast,
    "exact": lambda: _fast(batch_forced=False),
}


def make_decoder(name: str) -> Decoder:
    if name not in DECODERS:
        raise ModelError(f"unknown decoder {name!r}; choose one of: {', '.join(DECODERS)}")
    return DECODERS[name]()
