"""`search_internet`: ask a SearXNG instance, read the top pages, quote what matters.

The pages are split into passages, and the ones nearest to the task (by embedding), among
them the search engines' snippets, are returned verbatim with their titles (or condensed by
a summarizer model where one is configured; see `tools.search_results`). The SearXNG URL
comes from the context (`WAYPOINT_SEARXNG_URL`); without one the tool says so instead of guessing.
Pages are read only from public addresses (`tools.url_policy`), unless `fetch_private`.
"""

import logging
from typing import Self

import httpx
import numpy as np

from models.chat_model import ChatModel
from schemas.trajectory import Scratchpad
from tools.base import Observation, Tool, ToolError
from tools.context import ToolContext
from tools.html_text import html_to_text
from tools.retrieval.corpus import Article, Passage, split_passages
from tools.retrieval.embedder import shared_embedder
from tools.search_results import search_result
from tools.searxng import SearchResult, Searxng
from tools.url_policy import UrlRefused, guarded_client

log = logging.getLogger(__name__)

MAX_PAGE_BYTES = 2_000_000
PAGE_PASSAGE_WORDS = 120
USER_AGENT = "waypoint (a local planning agent)"
_NO_URL = "no SearXNG URL is configured: set WAYPOINT_SEARXNG_URL (e.g. http://localhost:8080)"


class SearchInternet(Tool):
    name = "search_internet"
    description = "Searches the internet for recent events and facts an encyclopedia lacks."

    def __init__(
        self,
        searxng_url: str | None,
        *,
        summarizer: ChatModel | None = None,
        pages: int = 3,
        k: int = 2,
        timeout: float = 10.0,
        fetch_private: bool = False,
    ) -> None:
        self.summarizer = summarizer
        self.searxng_url = searxng_url
        self.pages, self.k, self.timeout = pages, k, timeout
        self.fetch_private = fetch_private

    @classmethod
    def from_context(cls, context: ToolContext) -> Self:
        return cls(
            context.searxng_url, summarizer=context.summarizer, fetch_private=context.fetch_private
        )

    @classmethod
    def unavailable(cls, context: ToolContext) -> str | None:
        return None if context.searxng_url else _NO_URL

    def run(self, request: str, task: str, scratchpad: Scratchpad) -> Observation:
        if not self.searxng_url:
            raise ToolError(_NO_URL)
        options = {"timeout": self.timeout, "headers": {"User-Agent": USER_AGENT}}
        with httpx.Client(**options) as searxng:  # the instance the user configured
            results = Searxng(self.searxng_url, searxng).search(task)[: self.pages]
        pages = guarded_client(allow_private=self.fetch_private, follow_redirects=True, **options)
        with pages:  # where the results point: anywhere on the web
            passages = [p for result in results for p in _passages(pages, result)]
        if not passages:
            return Observation(text=f"The internet search found nothing for {task!r}.")
        nearest = _nearest(task, passages, self.k)
        return Observation(text=search_result(task, nearest, self.summarizer))


def _passages(client: httpx.Client, result: SearchResult) -> list[Passage]:
    """The engines' snippet, then the page's own text in passages (the snippet alone when
    the page cannot be read)."""
    title = result.title or result.url
    snippet = [Passage(title=title, text=result.content, source=result.url)]
    page = Article(title=title, text=_page_text(client, result.url), url=result.url)
    return [p for p in snippet + list(split_passages([page], PAGE_PASSAGE_WORDS)) if p.text]


def _page_text(client: httpx.Client, url: str) -> str:
    try:
        with client.stream("GET", url) as response:
            if response.status_code != 200:
                return ""
            kind = response.headers.get("content-type", "")
            body = b""
            for chunk in response.iter_bytes():
                body += chunk
                if len(body) >= MAX_PAGE_BYTES:
                    break
            encoding = response.encoding or "utf-8"
    except (httpx.HTTPError, UrlRefused) as e:
        log.info("page %s not read: %s", url, e)
        return ""  # one unreadable (or refused) page should not sink the search
    text = body.decode(encoding, errors="replace")
    if "html" in kind:
        return html_to_text(text)[1]
    return text if kind.startswith("text/") else ""


def _nearest(task: str, passages: list[Passage], k: int) -> list[Passage]:
    vectors = shared_embedder().encode([task] + [p.embedding_text() for p in passages])
    scores = vectors[1:] @ vectors[0]
    return [passages[i] for i in np.argsort(-scores, kind="stable")[:k]]
