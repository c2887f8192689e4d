"""What the real tools share: the model they call, where they write, how they reach the user.

One context is handed to the registry, which builds each tool from it; a tool takes only
what it needs. Nothing here loads anything: models and indexes are passed in or opened
by the tools on first use.
"""

import os
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from models.chat_model import ChatModel
from models.registry import waypoint_home
from schemas.errors import WaypointError

AskUser = Callable[[str], str]


def terminal_ask(question: str) -> str:
    """Ask the person at the terminal; the default for `ask_user`."""
    return input(f"{question}\n> ")


@dataclass
class ToolContext:
    model: ChatModel | None = None  # derives tool arguments where a task does not spell them out
    summarizer: ChatModel | None = None  # condenses search results; None: quoted verbatim
    home: Path = field(default_factory=waypoint_home)  # outbox/, calendar/, indexes/ go here
    searxng_url: str | None = field(default_factory=lambda: os.environ.get("WAYPOINT_SEARXNG_URL"))
    index_dir: Path | None = None  # None: the bundled corpus, indexed under `home` on first use
    fetch_private: bool = False  # search_internet may read pages on this machine's networks
    ask: AskUser = terminal_ask

    def require_model(self, tool: str) -> ChatModel:
        if self.model is None:
            raise WaypointError(f"the tool {tool} needs a chat model and none was given")
        return self.model
