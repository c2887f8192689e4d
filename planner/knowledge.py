"""The knowledge base a self-aware planner consults: rules retrieved by embedding.

The query is the situation (the request and the newest result), so the rules that come
back are about the kind of request and how far it has got. The shipped base
(`planner/data/rules.jsonl`) is written for the one tool vocabulary, so it holds in the
atlas world and on the real tools alike. Another base is any JSONL of `schemas.knowledge.Rule`.
"""

from collections.abc import Sequence
from functools import cached_property
from importlib import resources
from pathlib import Path

import numpy as np

from schemas.errors import WaypointError
from schemas.knowledge import Rule
from schemas.records import read_records
from schemas.trajectory import Scratchpad
from tools.retrieval.embedder import Embedder, shared_embedder

TOP_K = 2
RESULT_CHARS = 200  # of the newest result in the query: what the planner just learned


class KnowledgeError(WaypointError):
    """A knowledge base file is missing or empty."""


def default_knowledge() -> Path:
    return Path(str(resources.files("planner.data") / "rules.jsonl"))


def situation(request: str, scratchpad: Scratchpad) -> str:
    """The retrieval query of a state."""
    if not scratchpad.steps:
        return request
    last = scratchpad.steps[-1]
    return f"{request} {last.plan.task} {last.observation[:RESULT_CHARS]}"


class KnowledgeBase:
    def __init__(
        self, rules: Sequence[Rule], embedder: Embedder | None = None, k: int = TOP_K
    ) -> None:
        if not rules:
            raise KnowledgeError("a knowledge base needs at least one rule")
        self.rules, self.k = list(rules), k
        self.embedder = embedder or shared_embedder()

    @classmethod
    def load(cls, path: Path | None = None, k: int = TOP_K) -> "KnowledgeBase":
        """The rules in `path` (JSONL of `schemas.knowledge.Rule`; default the shipped ones)."""
        path = path or default_knowledge()
        if not path.is_file():
            raise KnowledgeError(f"no such knowledge base: {path}")
        rules = read_records(path, Rule)
        if not rules:
            raise KnowledgeError(f"{path} holds no rules")
        return cls(rules, k=k)

    @cached_property
    def _vectors(self) -> tuple[np.ndarray, np.ndarray]:
        """Every rule's text and examples embedded, and the rule each row belongs to."""
        texts = [(i, t) for i, r in enumerate(self.rules) for t in (r.text, *r.examples)]
        owners = np.array([i for i, _ in texts])
        return self.embedder.encode([t for _, t in texts]), owners

    def retrieve(self, query: str) -> list[Rule]:
        """The `k` rules nearest to `query` (a rule is as near as its nearest text or
        example), nearest first."""
        vectors, owners = self._vectors
        scores = np.full(len(self.rules), -np.inf)
        np.maximum.at(scores, owners, vectors @ self.embedder.encode([query])[0])
        order = np.argsort(-scores, kind="stable")[: self.k]
        return [self.rules[i] for i in order]
