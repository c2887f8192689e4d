"""What a search tool returns: its best passages, verbatim, each under its title.

A tiny model asked to summarize passages corrupts them (the bundled 135M model turned a
survey's "8,849 metres" into invented history); quoting them cannot state a fact that is
not in the source. Where a separate summarizer model is configured, it condenses the
passages instead (`tools.summarize`), and the titles it drew on follow its text.
"""

from collections.abc import Sequence

from models.chat_model import ChatModel
from tools.retrieval.corpus import Passage


def quote(passages: Sequence[Passage]) -> str:
    """The passages as the planner reads them: `Title: text`, one per line."""
    return "\n".join(f"{p.title}: {' '.join(p.text.split())}" for p in passages)


def search_result(task: str, passages: Sequence[Passage], summarizer: ChatModel | None) -> str:
    if summarizer is None:
        return quote(passages)
    from tools.summarize import summarize

    return summarize(summarizer, task, passages)
