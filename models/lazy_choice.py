"""The next token under a grammar, checking the grammar lazily.

Greedy decoding under a grammar takes the highest-scoring token the grammar allows.
llama-cpp-python finds it by masking the whole vocabulary at every step (≈10 ms for a JSON
grammar on a 49k vocabulary). Here the best-scoring token is checked alone. Only when the
grammar refuses it is a mask computed, and then only over the candidates: the tokens whose
first byte the grammar allows (`models.first_bytes`), plus the end-of-generation tokens when
it may end. Where the model is refused, the grammar usually allows one or a few bytes (a key,
a quote, an enum value), so that is a small fraction of the vocabulary. The result is exactly
the full-mask argmax, ties included: like llama.cpp's greedy sampler, the lowest token id
wins among equal scores.

Sampling makes the same choice on perturbed scores (the Gumbel-max trick): the argmax of
logit/T + Gumbel noise over any set of tokens is a sample from the softmax at temperature T
restricted to that set. So the token sampled without the grammar is kept when the grammar
allows it, and otherwise the argmax of the *same* perturbed scores over the allowed tokens is
taken. Either way the token is distributed exactly as softmax(masked logits / T), the
distribution of llama.cpp's full-mask path — not an approximation of it.
"""

import numpy as np

from models.first_bytes import FirstBytes
from models.matcher import GrammarMatcher


class LazyChoice:
    def __init__(self, first_bytes: FirstBytes) -> None:
        self.first_bytes = first_bytes
        self.checks = 0  # choices made
        self.refusals = 0  # ... where the grammar refused the best-scoring token
        self.masked = 0  # tokens masked after refusals, in all

    def __call__(self, scores: np.ndarray, grammar: GrammarMatcher) -> int:
        """The highest-scoring token `grammar` allows (lowest id among equal scores)."""
        self.checks += 1
        best = int(np.argmax(scores))
        if grammar.allows(best):
            return best
        self.refusals += 1
        allowed = self.allowed(grammar)
        return int(allowed[np.argmax(scores[allowed])])

    def allowed(self, grammar: GrammarMatcher) -> np.ndarray:
        """Every token `grammar` allows, in increasing id order."""
        probe = self.first_bytes.probe(grammar)
        candidates = self.first_bytes.candidates(probe.groups)
        self.masked += len(candidates)
        allowed = candidates[~self.first_bytes.refused(grammar, candidates)]
        if probe.can_end:
            allowed = np.concatenate([allowed, self.first_bytes.ends])
        return np.sort(allowed)
