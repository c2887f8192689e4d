"""`search_wikipedia`: dense retrieval over an encyclopedia; the best passage, verbatim.

Without a configured index it searches the small encyclopedia shipped in `tools/data/`,
indexed under `$WAYPOINT_HOME/indexes` the first time it is searched. A simulated world
hands in its own articles instead (`tools.atlas.search`): the planner meets the same tool,
with the same contract, in simulation and for real. The embedding model and the index load
on the first search, not when the tool is built.
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
from tools.retrieval.index import Hit, PassageIndex, Retriever, cached_index, read_manifest
from tools.search_results import search_result

K = 1  # passages returned: a passage holds a whole short article (tools.retrieval.corpus)


def bundled_corpus() -> Path:
    return Path(str(resources.files("tools.data") / "encyclopedia.jsonl"))


class LocalIndex:
    """A passage index on disk, opened on the first search: `folder`, or the bundled corpus
    indexed under `cache`."""

    def __init__(self, folder: Path | None, cache: Path) -> None:
        if folder is not None:
            read_manifest(folder)  # a folder that holds no index fails now, not at a search
        self.folder, self.cache = folder, cache

    @cached_property
    def index(self) -> PassageIndex:
        embedder = shared_embedder()
        folder = self.folder or cached_index(bundled_corpus(), self.cache, embedder)
        return PassageIndex(folder, embedder)

    def search(self, query: str, k: int = 3) -> list[Hit]:
        return self.index.search(query, k)


class SearchWikipedia(Tool):
    name = "search_wikipedia"
    description = (
        "Searches an encyclopedia for facts about people, places, things and events; "
        "returns the best matching article text word for word."
    )

    def __init__(
        self, retriever: Retriever, *, summarizer: ChatModel | None = None, k: int = K
    ) -> None:
        self.retriever, self.summarizer, self.k = retriever, summarizer, k

    @classmethod
    def from_context(cls, context: ToolContext) -> Self:
        retriever = LocalIndex(context.index_dir, context.home / "indexes")
        return cls(retriever, summarizer=context.summarizer)

    def run(self, request: str, task: str, scratchpad: Scratchpad) -> Observation:
        if not task.strip():
            raise ToolError("the task is empty: say what to search for")
        hits = self.retriever.search(task.strip(), self.k)
        if not hits:
            raise ToolError("the encyclopedia index is empty")
        passages = [hit.passage for hit in hits]
        return Observation(text=search_result(task, passages, self.summarizer))
