"""Worked examples: the solved request nearest to a new one, shown in the planner's prompt.

A small planner fine-tuned on a few hundred wordings meets wordings it never saw ("take 23
away from 764"); the nearest solved request ("what's left if you take 38 from 702?",
`calculate` with "702 - 38") shows the steps by analogy. This is seed 004's (STE) memory of
earlier trials, kept as the simulation's expert trajectories. The planner is trained with the
examples it will be shown: each training request is paired with its nearest neighbour of
another wording (`finetune.package`), as a new wording meets only other wordings.
"""

import re
from collections.abc import Callable, Sequence
from functools import cached_property, lru_cache
from pathlib import Path

import numpy as np

from schemas.errors import WaypointError
from schemas.examples import WorkedExample
from schemas.records import read_records
from tools.retrieval.embedder import Embedder, shared_embedder


class ExamplesError(WaypointError):
    """A worked-examples file is missing or empty."""


# What a request asks, without what it asks about: names (a capitalised word inside a
# sentence), addresses and numbers. Matched on the gist, a request finds the solved one of its
# kind rather than one about the same river; and a training request, whose world the bank
# shares, meets neighbours as a request from another world or from a user does.
_ADDRESS = re.compile(r"\S+@\S+")
_NUMBER = re.compile(r"\d[\d,.:/-]*\d|\d")
_NAME = re.compile(r"(?<=[a-z0-9,;:'] )[A-Z][\w'-]*")
_RUN = re.compile(r"\b([XN])(?: \1\b)+")


def slots(gist_text: str) -> int:
    """Whether a gist gives an address and a number, as one code: a request that names its
    address needs no search for it, one with numbers computes; examples that agree come first."""
    return 2 * ("X@X" in gist_text) + (re.search(r"\bN\b", gist_text) is not None)


def gist(request: str) -> str:
    text = _NAME.sub("X", _ADDRESS.sub("X@X", request))  # an address is not a name to look up
    return _RUN.sub(r"\1", _NUMBER.sub("N", text))


class ExampleBank:
    def __init__(self, examples: Sequence[WorkedExample], embedder: Embedder | None = None):
        if not examples:
            raise ExamplesError("a bank of worked examples needs at least one example")
        self.examples = list(examples)
        self.embedder = embedder or shared_embedder()
        self._nearest = lru_cache(maxsize=256)(self._nearest_to)  # one lookup per request

    @classmethod
    def load(cls, path: Path) -> "ExampleBank":
        if not path.is_file():
            raise ExamplesError(f"no such worked-examples file: {path}")
        examples = read_records(path, WorkedExample)
        if not examples:
            raise ExamplesError(f"{path} holds no worked examples")
        return cls(examples)

    @cached_property
    def _gists(self) -> list[str]:
        return [gist(e.request) for e in self.examples]

    @cached_property
    def _vectors(self) -> np.ndarray:
        return self.embedder.encode(self._gists)

    @cached_property
    def _slots(self) -> np.ndarray:
        return np.array([slots(g) for g in self._gists])

    def nearest(self, request: str) -> WorkedExample:
        return self._nearest(request)

    def _nearest_to(self, request: str) -> WorkedExample:
        [example] = self.nearest_each([request], lambda i, example: True)
        return example

    def nearest_each(
        self, requests: Sequence[str], allowed: Callable[[int, WorkedExample], bool]
    ) -> list[WorkedExample]:
        """For each request, the nearest example that `allowed(index of the request, example)`
        keeps (training skips a request's own wording); the requests embedded in one batch."""
        gists = [gist(r) for r in requests]
        scores = self.embedder.encode(gists) @ self._vectors.T  # cosine, in [-1, 1]
        agree = np.array([slots(g) for g in gists])[:, None] == self._slots[None, :]
        scores += 2.0 * agree
        return [self._first(row, lambda e, i=i: allowed(i, e)) for i, row in enumerate(scores)]

    def _first(self, scores: np.ndarray, allowed: Callable[[WorkedExample], bool]) -> WorkedExample:
        for i in np.argsort(-scores, kind="stable"):
            if allowed(self.examples[i]):
                return self.examples[i]
        raise ExamplesError("no worked example may be shown: every one is ruled out")
