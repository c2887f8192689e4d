"""The `fast` decoder: grammar-constrained decoding at the speed of unconstrained decoding.

What it saves:

1. The full-vocabulary mask. The grammar checks the model's own choice alone
   (`models.lazy_choice`); only when it refuses is a mask computed, over the few tokens whose
   first byte the grammar allows.
2. The forward pass that learns the end. When the grammar admits nothing but the end of
   generation (`models.forced_text`), decoding stops.
3. Forward passes for forced text. The bytes the grammar forces next (`","thoughts":"`, the
   rest of an enum value, `"}`) go in as a draft, the split the model chose for them before
   (`models.forced_text`), in one batch with the pending token. The batch's logits after
   each draft token are checked against the draft: where the model would have chosen
   another token (split the text otherwise), the rest of the draft is dropped from the
   cache and decoding goes on from the model's choice. This is on only where a batch gives
   the logits of its tokens one at a time, bit for bit, and costs well under them (both
   measured once per model: `models.llama_batch`).

And it never cuts: with a token budget, a closing of the grammar stays within reach
(`models.budget`), so a generation that runs out still ends valid, marked shortened.

Exactness. Without 3., every token is the constrained choice from the logits one-token
evaluation gives, as in the plain decoder, which evaluates its prompt the same way
(`models.llama_batch`): greedy output is the plain decoder's, token for token (the `exact`
decoder). With 3. every token is still the model's constrained choice, but from logits a
batch gave, and by default 3. is on only where those are the one-token logits (llama.cpp
on a CPU built without llamafile's kernels, or with flash attention and one-token passes on
one thread): greedy output is the plain decoder's whatever was decided at load. Forced on
elsewhere (`batch_forced=True`), a batch sums in another order (the bundled model's logits
move by up to 0.75 with llamafile's kernels), which tips near-ties: bench/constrained_decode.py
measures the share of greedy plans identical to the plain decoder's. With sampling, the
choice is exact in distribution (Gumbel-max over the allowed tokens, see
`models.lazy_choice`); a seed gives the same sample every time without batches, and with
them wherever batched logits do not tip a choice (the noise follows the output's bytes, see
`Scores`).

Settings this cannot reproduce go to the plain decoder: top_p < 1 (the nucleus of the masked
distribution needs the full mask) and a negative temperature; without a grammar there is
nothing to save, so that goes to it too.
"""

from collections.abc import Callable, Generator, Hashable, Sequence
from dataclasses import dataclass
from typing import Any

import llama_cpp
import numpy as np

from models.budget import Budget, Closing, Lexer
from models.decoding import PlainDecoder, Sampling
from models.first_bytes import FirstBytes
from models.forced_text import MAX_FORCED_BYTES, ForcedText
from models.lazy_choice import LazyChoice
from models.llama_batch import BatchEvaluator
from models.matcher import GrammarMatcher, Vocab

# Planner-like text: a context of a realistic length, then a batch the size of forced text.
_CHECK_TEXT = '{"context":"Ana Lind is the mayor of Vellmar.","thoughts":"Her address is next."}'
_CHECK_BATCH = 8
# A forced token in a batch costs c of a one-token pass: batches pay when c is clearly < 1.
_BATCHES_PAY_BELOW = 0.85
# A prompt without an end of turn is scoped by its start (see `_scope`).
_SCOPE_TOKENS = 64


@dataclass
class ForcedStats:
    forced: int = 0  # tokens of forced text written from a draft, each checked by its logits
    rejected: int = 0  # drafted tokens the model would have split otherwise (evaluated, dropped)
    passes: int = 0  # forward passes after the prompt


class _Engine:
    """Everything the fast decoder builds once per llama.cpp model."""

    def __init__(self, llm: llama_cpp.Llama, batch_forced: bool | None) -> None:
        self.llm = llm
        self.vocab = Vocab.from_model(llm)
        first_bytes = FirstBytes(self.vocab)
        self.forced = ForcedText(first_bytes)
        self.choice = LazyChoice(first_bytes)
        self.closing = Closing(first_bytes)
        self.evaluator = BatchEvaluator(llm)
        self.batched = _batches_pay(self.evaluator, self.vocab, batch_forced)
        self._grammars: dict[str, tuple[GrammarMatcher, int]] = {}

    def grammar(self, gbnf: str) -> tuple[GrammarMatcher, int]:
        """A fresh state of `gbnf` (parsed once, then copied), and the length in tokens of
        its closing from the start (0: none known)."""
        if gbnf not in self._grammars:
            start = GrammarMatcher(self.vocab, gbnf)
            closing = self.closing.tokens(start, Lexer())
            self._grammars[gbnf] = start, len(closing) if closing is not None else 0
        start, closing_tokens = self._grammars[gbnf]
        return start.clone(), closing_tokens

    def is_end(self, token: int) -> bool:
        return llama_cpp.llama_vocab_is_eog(self.vocab.ptr, token)


def _batches_pay(evaluator: BatchEvaluator, vocab: Vocab, batch_forced: bool | None) -> bool:
    """Batches go in where they give one-token logits (so greedy output stays the plain
    decoder's) and cost clearly less than their tokens one by one."""
    if batch_forced is not None:
        return batch_forced
    tokens = vocab.tokenize(_CHECK_TEXT * 3)
    prefix, batch = tokens[:-_CHECK_BATCH], tokens[-_CHECK_BATCH:]
    if not evaluator.batch_is_exact(prefix, batch):
        return False
    return evaluator.batch_cost(prefix, batch) < _BATCHES_PAY_BELOW


class FastDecoder:
    def __init__(self, batch_forced: bool | None = None) -> None:
        """`batch_forced`: feed forced text in batches where they are measured to give the
        one-token logits and to pay (None), always (True: greedy output the plain decoder's
        only where the backend computes a batch as its tokens one at a time), or never
        (False). Greedy output is the plain decoder's with None and False."""
        self.batch_forced = batch_forced
        self._plain = PlainDecoder()
        self._engine: _Engine | None = None
        self.stats = ForcedStats()

    @property
    def batched(self) -> bool | None:
        """Whether forced text goes in batches (None before the first constrained
        generation, which measures whether batches pay on this machine)."""
        return self._engine.batched if self._engine else None

    @property
    def choice(self) -> LazyChoice | None:
        """The lazy check's counters (None before the first constrained generation)."""
        return self._engine.choice if self._engine else None

    def tokens(
        self,
        llm: llama_cpp.Llama,
        prompt: Sequence[int],
        gbnf: str | None,
        sampling: Sampling,
        budget: int | None = None,
    ) -> Generator[int, Any, str | None]:
        if gbnf is None or sampling.top_p < 1.0 or sampling.temperature < 0.0:
            return self._plain.tokens(llm, prompt, gbnf, sampling, budget)
        if self._engine is None or self._engine.llm is not llm:
            self._engine = _Engine(llm, self.batch_forced)
        grammar, closing = self._engine.grammar(gbnf)  # a bad grammar fails here
        left = Budget(self._engine.closing, budget, closing) if budget and closing else None
        return self._generate(self._engine, prompt, grammar, Scores(sampling), left)

    def _generate(
        self,
        engine: _Engine,
        prompt: Sequence[int],
        grammar: GrammarMatcher,
        scores: "Scores",
        budget: Budget | None,
    ) -> Generator[int, Any, str | None]:
        """Yields the tokens; returns "length" when it closed the grammar to fit `budget`."""
        row = engine.evaluator.start(prompt)
        max_forced = MAX_FORCED_BYTES if engine.batched else 0
        spelling: _Spelling | None = None  # forced text the model is spelling for the first time
        scope = _scope(prompt, engine.is_end)
        written = 0  # bytes of output so far
        pieces = engine.forced.first_bytes.pieces
        while True:
            token = engine.choice(scores(row, written), grammar)
            if engine.is_end(token):
                yield token
                return _ended(budget)
            if budget:
                token, closing = budget.steer(grammar, token)
                if closing is not None:
                    yield from _write(grammar, closing)
                    return "length"
            grammar.accept(token)
            if spelling and spelling.add(token, engine.forced):
                spelling = None
            forced = engine.forced.after(grammar, 0 if spelling else max_forced, scope)
            if not forced.learned:
                spelling = _Spelling(forced.text, scope)
            if budget:
                budget.spend([token])
                if forced.tokens and not budget.fits(grammar, forced.tokens):
                    closing = budget.close(grammar) or []
                    yield token
                    yield from _write(grammar, closing)
                    return "length"
            yield token
            written += len(pieces[token])
            if forced.ends:  # nothing but the text, then the end: no pass, no choice after it
                yield from self._draft(grammar, forced.tokens, budget)
                return _ended(budget)
            self.stats.passes += 1
            if not forced.tokens:
                row = engine.evaluator.extend([token])
                continue
            # The draft is checked against the model's own choice after each of its tokens:
            # where the model would have split the text otherwise, it goes on from there.
            rows = engine.evaluator.extend_each([token, *forced.tokens])
            kept = 0
            for draft, after in zip(forced.tokens, rows, strict=False):
                if engine.choice(scores(after, written), grammar) != draft:
                    break
                yield from self._draft(grammar, [draft], budget)
                kept += 1
                written += len(pieces[draft])
            self.stats.rejected += len(forced.tokens) - kept
            engine.evaluator.truncate(engine.evaluator.n_tokens - len(forced.tokens) + kept)
            row = rows[kept]

    def _draft(
        self, grammar: GrammarMatcher, tokens: list[int], budget: Budget | None
    ) -> Generator[int, Any, None]:
        """Write forced tokens the model did not choose one by one."""
        if budget:
            budget.spend(tokens)
        self.stats.forced += len(tokens)
        yield from _write(grammar, tokens)


def _scope(prompt: Sequence[int], is_end: Callable[[int], bool]) -> int:
    """What scopes the model's learned splits of forced text (`models.forced_text`): the
    prompt's first turn, the system prompt (a planner's, a tool's), up to its end of turn,
    so that the steps of every request under one prompt share them."""
    end = next((i for i, token in enumerate(prompt) if is_end(token)), _SCOPE_TOKENS)
    return hash(tuple(prompt[:end]))


def _ended(budget: Budget | None) -> str | None:
    return "length" if budget and budget.shortened else None


class _Spelling:
    """The tokens the model chooses where a forced text begins, until they spell it."""

    def __init__(self, text: bytes, scope: Hashable) -> None:
        self.text, self.scope, self.chosen, self.spelled = text, scope, [], 0

    def add(self, token: int, forced: ForcedText) -> bool:
        """Take the next chosen token; True once the text is spelled (and learned)."""
        self.chosen.append(token)
        piece = forced.first_bytes.pieces[token]
        self.spelled += len(piece)
        done = self.spelled >= len(self.text) or not self.text.startswith(
            piece, self.spelled - len(piece)
        )
        if done:
            forced.learn(self.text, self.chosen, self.scope)
        return done


def _write(grammar: GrammarMatcher, tokens: list[int]) -> Generator[int, Any, None]:
    for token in tokens:
        grammar.accept(token)
        yield token


class Scores:
    """What the choice maximizes: the logits (greedy), or logits/T plus Gumbel noise, whose
    argmax over any set of tokens samples softmax(logits/T) restricted to that set.

    The noise of a choice is drawn from the sampling seed and the number of bytes written
    before it, not from a running stream: forced text fed in a batch draws no noise, and
    the choices after it get the same noise as when the model spelled that text itself."""

    def __init__(self, sampling: Sampling) -> None:
        self.temperature = sampling.temperature
        seed = sampling.seed
        self._seed = seed if seed is not None else int(np.random.SeedSequence().entropy % 2**63)

    def __call__(self, logits: np.ndarray, offset: int) -> np.ndarray:
        if self.temperature == 0.0:
            return logits
        noise = np.random.default_rng((self._seed, offset)).gumbel(size=logits.shape)
        return logits / self.temperature + noise
