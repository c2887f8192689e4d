"""`search_wikipedia`: dense retrieval over a local encyclopedia index, then a summary.

Without a configured index it uses the small encyclopedia shipped in `tools/data/`, indexed
under `$WAYPOINT_HOME/indexes` the first time it is searched. The embedding model and the
index load on the first search, not when the tool is built.
"""

from functools import cached_property
from importlib import resources
from pathlib import Path
from typing import Self

from models.chat_model import ChatModel
from schemas.trajectory import Scratchpad
from tools.base import Observation, Tool, ToolError
from tools.context import ToolContext
from tools.retrieval.embedder import shared_embedder
from tools.retrieval.index import PassageIndex, cached_index
from tools.summarize import summarize


def bundled_corpus() -> Path:
    return Path(str(resources.files("tools.data") / "encyclopedia.jsonl"))


class SearchWikipedia(Tool):
    name = "search_wikipedia"
    description = "Searches an encyclopedia for facts about people, places, things and events."

    def __init__(
        self, model: ChatModel, index_dir: Path | None = None, *, cache: Path, k: int = 3
    ) -> None:
        self.model = model
        self.index_dir = index_dir
        self.cache = cache  # where the bundled corpus is indexed when no index_dir is given
        self.k = k

    @classmethod
    def from_context(cls, context: ToolContext) -> Self:
        return cls(
            context.require_model(cls.name), context.index_dir, cache=context.home / "indexes"
        )

    @cached_property
    def index(self) -> PassageIndex:
        embedder = shared_embedder()
        folder = self.index_dir or cached_index(bundled_corpus(), self.cache, embedder)
        return PassageIndex(folder, embedder)

    def run(self, request: str, task: str, scratchpad: Scratchpad) -> Observation:
        hits = self.index.search(task, self.k)
        if not hits:
            raise ToolError("the encyclopedia index is empty")
        return Observation(text=summarize(self.model, task, [hit.passage for hit in hits]))
