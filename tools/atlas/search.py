"""Retrieval over the atlas articles: sentence embeddings, with an exact-name boost.

Ranking is cosine similarity between the task and each article (all-MiniLM-L6-v2). Invented
names split into arbitrary word pieces, so embeddings alone sometimes rank a look-alike
name first; every entity name carries a coded word unique across all worlds, and articles
whose coded word the task spells out are ranked above every other. The planner is what
the atlas world measures: a task that names the entity must find it. When exactly one
article is named, the order is settled without encoding the task, which keeps a run of
thousands of searches fast on a CPU.
"""

import re
import threading
from functools import cached_property, lru_cache

import numpy as np

from tools.atlas.world import Article, World
from tools.retrieval.embedder import Embedder, shared_embedder

_WORD = re.compile(r"[a-z]+")


class ArticleIndex:
    def __init__(self, world: World, embedder: Embedder | None = None) -> None:
        self.articles: list[Article] = world.articles()
        self.embedder = embedder or shared_embedder()
        self._lock = threading.Lock()  # tools run in worker threads: build the matrix once
        self.best = lru_cache(maxsize=4096)(self._best)

    @cached_property
    def _vectors(self) -> np.ndarray:
        return self.embedder.encode([a.text for a in self.articles])

    def vectors(self) -> np.ndarray:
        with self._lock:
            return self._vectors

    def _best(self, query: str) -> Article:
        """The best article for `query` (cached: planners repeat their tasks)."""
        words = set(_WORD.findall(query.lower()))
        named = [i for i, a in enumerate(self.articles) if a.key.lower() in words]
        if len(named) == 1:
            return self.articles[named[0]]
        candidates = named or list(range(len(self.articles)))
        scores = self.vectors()[candidates] @ self.embedder.encode([query])[0]
        return self.articles[candidates[int(np.argmax(scores))]]
