"""search_internet against a SearXNG-compatible HTTP server on 127.0.0.1 that serves fixed
results and pages, with the bundled model summarising."""

import json
import socket
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import ClassVar
from urllib.parse import parse_qs, urlparse

import httpx
import pytest

from models.chat_model import ChatModel
from schemas.errors import WaypointError
from schemas.trajectory import Scratchpad
from tools.base import ToolError
from tools.context import ToolContext
from tools.html_text import html_to_text
from tools.registry import load_tools
from tools.search_internet import SearchInternet
from tools.searxng import Searxng

FESTIVAL_PAGE = """<html><head><title>Zorblat festival</title><style>p {color: red}</style>
<script>var secret = "never shown";</script></head><body>
<nav><a href="/">Home</a> <a href="/news">News</a></nav>
<h1>The Zorblat festival</h1>
<p>The Zorblat festival is held every April in the town of Quenton.</p>
<p>Its drummers play the zorblat, a small drum made of birch bark &amp; goat skin.</p>
<footer>Copyright Quenton tourism office</footer></body></html>"""

DRUM_TEXT = "The zorblat drum has a single head and is played with two thin sticks."


class SearxngStandIn(BaseHTTPRequestHandler):
    queries: ClassVar[list[str]] = []
    status: ClassVar[int] = 200

    def do_GET(self) -> None:
        url = urlparse(self.path)
        if url.path == "/search":
            self.queries.append(parse_qs(url.query)["q"][0])
            assert parse_qs(url.query)["format"] == ["json"]
            self._send(self.status, "application/json", json.dumps(self._results()))
        elif url.path == "/pages/festival":
            self._send(200, "text/html; charset=utf-8", FESTIVAL_PAGE)
        elif url.path == "/pages/drum.txt":
            self._send(200, "text/plain", DRUM_TEXT)
        else:
            self._send(404, "text/plain", "not found")

    def _results(self) -> dict:
        base = f"http://127.0.0.1:{self.server.server_port}"
        return {
            "query": "zorblat",
            "number_of_results": 3,
            "results": [
                {"url": f"{base}/pages/festival", "title": "Zorblat festival", "engine": "x",
                 "content": "A spring festival in Quenton."},
                {"url": f"{base}/pages/drum.txt", "title": "Zorblat drum", "content": ""},
                {"url": f"{base}/pages/gone", "title": "Gone page", "content": "Old news."},
            ],
        }  # fmt: skip

    def _send(self, status: int, kind: str, body: str) -> None:
        data = body.encode()
        self.send_response(status)
        self.send_header("Content-Type", kind)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, *args: object) -> None:  # keep the test output clean
        pass


@pytest.fixture(scope="module")
def searxng():
    server = ThreadingHTTPServer(("127.0.0.1", 0), SearxngStandIn)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}"
    server.shutdown()
    server.server_close()
    thread.join()


class Recording(ChatModel):
    """The real model, with the prompts it was sent kept for inspection."""

    def __init__(self, model: ChatModel) -> None:
        self.model, self.name, self.prompts = model, model.name, []

    def complete(self, messages, **kwargs):
        self.prompts.append("\n".join(m.content for m in messages))
        return self.model.complete(messages, **kwargs)


def test_search_internet_reads_the_pages_and_quotes_them(searxng):
    SearxngStandIn.queries.clear()
    task = "Find out when the Zorblat festival is held"
    tool = SearchInternet(searxng, fetch_private=True)  # the pages are on loopback too
    observation = tool.run("When is the Zorblat festival?", task, Scratchpad())
    assert SearxngStandIn.queries == [task]
    assert "Zorblat festival: " in observation.text
    assert (
        "held every April in the town of Quenton" in observation.text
    )  # the page, not the snippet
    assert "never shown" not in observation.text and "Copyright" not in observation.text


def test_a_summarizer_model_condenses_the_pages(chat_model, searxng):
    model = Recording(chat_model)
    task = "Find out when the Zorblat festival is held"
    tool = SearchInternet(searxng, summarizer=model, fetch_private=True)
    observation = tool.run("When?", task, Scratchpad())
    answer, _, sources = observation.text.rpartition(" (sources: ")
    assert answer.strip() and "Zorblat festival" in sources
    [prompt] = model.prompts
    assert "held every April in the town of Quenton" in prompt


def test_pages_on_this_machine_are_not_read_unless_allowed(searxng):
    task = "Find out when the Zorblat festival is held"
    observation = SearchInternet(searxng).run("When?", task, Scratchpad())
    assert "A spring festival in Quenton." in observation.text  # the engine's snippet
    assert "held every April" not in observation.text  # the loopback page itself


def test_the_client_parses_searxng_json(searxng):
    with httpx.Client() as client:
        results = Searxng(searxng + "/", client).search("zorblat")
    assert [r.title for r in results] == ["Zorblat festival", "Zorblat drum", "Gone page"]
    assert results[0].content == "A spring festival in Quenton."


def test_without_a_url_the_tool_says_how_to_configure_it(chat_model, tmp_path):
    with pytest.raises(ToolError, match="WAYPOINT_SEARXNG_URL"):
        SearchInternet(None).run("r", "Search for news", Scratchpad())
    context = ToolContext(model=chat_model, home=tmp_path, searxng_url=None)
    assert "search_internet" not in [t.name for t in load_tools(context)]
    with pytest.raises(WaypointError, match="unavailable: no SearXNG URL"):
        load_tools(context, ["search_internet"])


def test_a_server_that_is_down_is_a_clear_error():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]  # closed again: nothing listens there
    with pytest.raises(ToolError, match=f"SearXNG at http://127.0.0.1:{port} is unreachable"):
        SearchInternet(f"http://127.0.0.1:{port}").run("r", "news", Scratchpad())


def test_a_searxng_without_json_output_is_explained(searxng):
    SearxngStandIn.status = 403
    try:
        with pytest.raises(ToolError, match=r"add json to search\.formats"):
            SearchInternet(searxng).run("r", "news", Scratchpad())
    finally:
        SearxngStandIn.status = 200


def test_html_to_text_keeps_what_a_reader_sees():
    title, text = html_to_text(FESTIVAL_PAGE)
    assert title == "Zorblat festival"
    assert text.split("\n\n") == [  # the heading repeats the title; nav and footer go
        "The Zorblat festival is held every April in the town of Quenton.",
        "Its drummers play the zorblat, a small drum made of birch bark & goat skin.",
    ]
