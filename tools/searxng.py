"""A client for a SearXNG metasearch instance's JSON API (`/search?q=…&format=json`).

SearXNG needs no API key; its `settings.yml` must list `json` under `search.formats`.
"""

import httpx
from pydantic import BaseModel, ConfigDict, ValidationError

from tools.base import ToolError


class SearchResult(BaseModel):
    model_config = ConfigDict(extra="ignore")

    url: str
    title: str = ""
    content: str = ""  # the snippet the engines returned


class SearchResponse(BaseModel):
    model_config = ConfigDict(extra="ignore")

    results: list[SearchResult] = []


class Searxng:
    def __init__(self, url: str, client: httpx.Client) -> None:
        self.url = url.rstrip("/")
        self.client = client

    def search(self, query: str) -> list[SearchResult]:
        try:
            response = self.client.get(f"{self.url}/search", params={"q": query, "format": "json"})
        except httpx.HTTPError as e:
            raise ToolError(f"SearXNG at {self.url} is unreachable: {e}") from e
        if response.status_code == 403:
            raise ToolError(
                f"SearXNG at {self.url} refuses JSON: add json to search.formats in settings.yml"
            )
        if response.status_code != 200:
            raise ToolError(f"SearXNG at {self.url} answered HTTP {response.status_code}")
        try:
            return SearchResponse.model_validate_json(response.content).results
        except ValidationError as e:
            raise ToolError(f"SearXNG at {self.url} sent an answer that is not its JSON") from e
