"""Retrieval over the atlas articles: sentence embeddings, with an exact-name boost.

Ranking is cosine similarity between the query and each article (all-MiniLM-L6-v2).
Invented names split into arbitrary word pieces, so embeddings alone sometimes rank a
look-alike name first; every entity name carries a coded word unique across all worlds, and
articles whose coded word the query spells out are ranked above every other. The planner is
what the atlas world measures: a task that names the entity must find it. When exactly one
article is named, the order is settled without encoding the query, which keeps a run of
thousands of searches fast on a CPU.
"""

import re
import threading
from functools import cached_property, lru_cache

import numpy as np

from tools.atlas.world import World
from tools.retrieval.corpus import Passage
from tools.retrieval.embedder import Embedder, shared_embedder
from tools.retrieval.index import Hit

_WORD = re.compile(r"[a-z]+")


class ArticleIndex:
    """The world's articles as a `tools.retrieval.index.Retriever`."""

    def __init__(self, world: World, embedder: Embedder | None = None) -> None:
        self.passages = [Passage(title=a.title, text=a.text) for a in world.articles()]
        self.keys = [a.key.lower() for a in world.articles()]
        self.embedder = embedder or shared_embedder()
        self._lock = threading.Lock()  # tools run in worker threads: build the matrix once
        self._ranked = lru_cache(maxsize=4096)(self._rank)

    @cached_property
    def _vectors(self) -> np.ndarray:
        return self.embedder.encode([p.embedding_text() for p in self.passages])

    def vectors(self) -> np.ndarray:
        with self._lock:
            return self._vectors

    def search(self, query: str, k: int = 3) -> list[Hit]:
        return [Hit(passage=self.passages[i], score=s) for i, s in self._ranked(query)[:k]]

    def _rank(self, query: str) -> list[tuple[int, float]]:
        """(article, score), best first (cached: planners repeat their tasks); articles the
        query names come first, with score 1."""
        words = set(_WORD.findall(query.lower()))
        named = [i for i, key in enumerate(self.keys) if key in words]
        if len(named) == 1:
            return [(named[0], 1.0)]
        scores = self.vectors() @ self.embedder.encode([query])[0]
        order = sorted(range(len(self.passages)), key=lambda i: (i not in named, -scores[i]))
        return [(i, 1.0 if i in named else float(scores[i])) for i in order]
