"""The `fast` decoder: grammar-constrained decoding at the speed of unconstrained decoding.

What it saves, without changing what is produced:

1. The full-vocabulary mask. The grammar checks the model's own choice alone
   (`models.lazy_choice`); only when it refuses is a mask computed, over the few tokens whose
   first byte the grammar allows.
2. The forward pass that learns the end. When the grammar admits nothing but the end of
   generation (`models.grammar_draft`), decoding stops.
3. Forward passes for forced text, where batches are exact and cheap: the bytes the grammar
   forces next (`","thoughts":"`, the rest of an enum value, `"}`) become a draft, tokenized
   the way the model itself wrote that text before. The pending token and the draft are
   evaluated in ONE batch with the logits at every position (`models.llama_batch`); walking
   the draft, the constrained choice at each position must equal the drafted token; the first
   that differs is kept instead (the model's own choice) and the rest is dropped from the KV
   cache. A batch accepted whole also yields the choice after its last token.

Exactness. Every emitted token is the constrained choice from the model's logits at its
position, and those logits are the ones one-token evaluation gives, bit for bit: drafts are
verified in batches only where a check at load finds batched and one-token logits identical,
which on llama.cpp's CPU backend takes flash attention (without it they differ by up to 0.7,
enough to flip near-ties). So greedy output is the plain decoder's, token for token. With
sampling, comparing a sample of the constrained distribution q with a fixed draft token d
accepts d with probability q(d) and otherwise leaves a sample of q without d: speculative
sampling with a one-point draft, exact in distribution; and since every position draws its
own noise whether or not it was drafted, a seed gives the same sample either way.

Batches pay only where a batch costs well under its tokens one by one (a GPU, a memory-bound
model). A 2-core CPU pays ~0.75 of a pass for each extra token with flash attention, which
itself costs 5-35% per token: there the decoder evaluates one token per pass and 1. and 2.
are the whole gain (bench/constrained_decode.py measures both ways).

Settings this cannot reproduce exactly go to the plain decoder: top_p < 1 (the nucleus of
the masked distribution needs the full mask) and a negative temperature; without a grammar
there is nothing to save, so that goes to it too.
"""

from collections.abc import Generator, Sequence
from dataclasses import dataclass
from typing import Any

import llama_cpp
import numpy as np

from models.chat_model import ModelError
from models.decoding import PlainDecoder, Sampling
from models.first_bytes import FirstBytes
from models.grammar_draft import MAX_FORCED_BYTES, Draft, GrammarDraft
from models.lazy_choice import LazyChoice
from models.llama_batch import BatchEvaluator
from models.matcher import GrammarMatcher, Vocab

# Planner-like text: a context of a realistic length, then a draft-sized batch.
_CHECK_TEXT = '{"context":"Ana Lind is the mayor of Vellmar.","thoughts":"Her address is next."}'
_CHECK_BATCH = 8
# With a batch costing c one-token passes per token, an accepted draft token saves 1 - c of a
# pass and a refused one wastes c: below this, drafts pay at the acceptance rates measured.
_DRAFTS_PAY_BELOW = 0.4


@dataclass
class DraftStats:
    drafted: int = 0  # draft tokens the model was asked to verify
    accepted: int = 0  # ... and chose itself
    passes: int = 0  # forward passes after the prompt


class _Engine:
    """Everything the fast decoder builds once per llama.cpp model."""

    def __init__(self, llm: llama_cpp.Llama, batch_drafts: bool | None) -> None:
        self.llm = llm
        self.vocab = Vocab.from_model(llm)
        first_bytes = FirstBytes(self.vocab)
        self.draft = GrammarDraft(first_bytes)
        self.choice = LazyChoice(first_bytes)
        self.evaluator = BatchEvaluator(llm)
        self.batched = _batches_help(llm, self.evaluator, self.vocab, batch_drafts)
        self._grammars: dict[str, GrammarMatcher] = {}

    def grammar(self, gbnf: str) -> GrammarMatcher:
        """A fresh state of `gbnf` (parsed once, then copied)."""
        if gbnf not in self._grammars:
            self._grammars[gbnf] = GrammarMatcher(self.vocab, gbnf)
        return self._grammars[gbnf].clone()

    def is_end(self, token: int) -> bool:
        return llama_cpp.llama_vocab_is_eog(self.vocab.ptr, token)


def _batches_help(
    llm: llama_cpp.Llama, evaluator: BatchEvaluator, vocab: Vocab, batch_drafts: bool | None
) -> bool:
    """Whether to verify drafts in batches: only with flash attention (the CPU backend's
    attention is computed row by row only then), only if a check finds batched and
    one-token logits identical, and only if batches are measured to pay (unless forced)."""
    flash = llm.context_params.flash_attn_type == llama_cpp.LLAMA_FLASH_ATTN_TYPE_ENABLED
    if batch_drafts is False or not flash:
        return False
    tokens = vocab.tokenize(_CHECK_TEXT * 3)
    check = evaluator.check_batches(tokens[:-_CHECK_BATCH], tokens[-_CHECK_BATCH:])
    return check.exact and (batch_drafts or check.cost < _DRAFTS_PAY_BELOW)


class FastDecoder:
    def __init__(self, batch_drafts: bool | None = None) -> None:
        """`batch_drafts`: verify grammar drafts in batches where that is exact and measured
        to pay (None), wherever it is exact (True), or never (False)."""
        self.batch_drafts = batch_drafts
        self._plain = PlainDecoder()
        self._engine: _Engine | None = None
        self.stats = DraftStats()

    @property
    def batched(self) -> bool | None:
        """Whether drafts are verified in batches (None before the first constrained
        generation, which checks that batched evaluation is exact for the model)."""
        return self._engine.batched if self._engine else None

    @property
    def choice(self) -> LazyChoice | None:
        """The lazy check's counters (None before the first constrained generation)."""
        return self._engine.choice if self._engine else None

    def tokens(
        self, llm: llama_cpp.Llama, prompt: Sequence[int], gbnf: str | None, sampling: Sampling
    ) -> Generator[int, Any, None]:
        if gbnf is None or sampling.top_p < 1.0 or sampling.temperature < 0.0:
            return self._plain.tokens(llm, prompt, gbnf, sampling)
        if self._engine is None or self._engine.llm is not llm:
            self._engine = _Engine(llm, self.batch_drafts)
        grammar = self._engine.grammar(gbnf)  # a bad grammar fails here, before any work
        return self._generate(self._engine, prompt, grammar, Scores(sampling))

    def _generate(
        self, engine: _Engine, prompt: Sequence[int], grammar: GrammarMatcher, scores: "Scores"
    ) -> Generator[int, Any, None]:
        evaluator = engine.evaluator
        rows, pending = evaluator.start(prompt), None
        while True:
            # Without batches a draft would not help: only the end matters then.
            draft = engine.draft.propose(grammar, MAX_FORCED_BYTES if engine.batched else 0)
            if draft.ends and not draft.tokens:
                return  # the grammar admits nothing but the end: no forward pass for it
            if pending is not None:  # the last choice, not evaluated yet
                rows = self._verify(evaluator, pending, draft)
            picks = self._walk(engine, rows, grammar, draft.tokens, scores)
            engine.draft.learn(draft, picks)
            # The KV cache keeps what precedes the last pick: the batch's first token and the
            # draft tokens the model chose. Trimmed before yielding, so a consumer that stops
            # early leaves a consistent cache behind.
            evaluator.truncate(evaluator.n_tokens - len(rows) + len(picks))
            yield from picks
            if engine.is_end(picks[-1]):
                return
            pending = picks[-1]

    def _verify(self, evaluator: BatchEvaluator, pending: int, draft: Draft) -> np.ndarray:
        """Logits after the pending token and after each draft token, in one batch; the last
        draft token needs none when the grammar ends after it."""
        batch = [pending, *draft.tokens[: len(draft.tokens) - draft.ends]]
        room = evaluator.room()
        if room < 1:
            raise ModelError("the context window is full: no room for another token")
        self.stats.passes += 1
        return evaluator.extend(batch[:room])

    def _walk(
        self,
        engine: _Engine,
        rows: np.ndarray,
        grammar: GrammarMatcher,
        draft: list[int],
        scores: "Scores",
    ) -> list[int]:
        """The constrained choice at each row while it agrees with the draft: the agreeing
        draft tokens, then the first choice that differs (or follows the draft)."""
        picks: list[int] = []
        for i, row in enumerate(rows):
            token = engine.choice(scores(row), grammar)
            picks.append(token)
            if engine.is_end(token):
                break
            grammar.accept(token)
            if i >= len(draft):
                break
            self.stats.drafted += 1
            if token != draft[i]:
                break
            self.stats.accepted += 1
        return picks


class Scores:
    """What the choice maximizes: the logits (greedy), or logits/T plus Gumbel noise, whose
    argmax over any set of tokens samples softmax(logits/T) restricted to that set (one fresh
    draw of noise per position, from a generator seeded with the sampling seed)."""

    def __init__(self, sampling: Sampling) -> None:
        self.temperature = sampling.temperature
        self._rng = np.random.default_rng(sampling.seed)

    def __call__(self, logits: np.ndarray) -> np.ndarray:
        if self.temperature == 0.0:
            return logits
        return logits / self.temperature + self._rng.gumbel(size=logits.shape)
