"""Answer a task from retrieved passages: the last stage of both search tools."""

from collections.abc import Sequence

from pydantic import BaseModel, Field

from models.chat_model import ChatModel
from schemas.chat import system, user
from tools import prompts
from tools.function_calling import structured
from tools.retrieval.corpus import Passage

PASSAGE_CHARS = 700  # per passage in the prompt: keeps three passages near 500 tokens


class Summary(BaseModel):
    answer: str = Field(
        min_length=1, max_length=400, description="the answer to the task, from the passages"
    )


def render_passages(passages: Sequence[Passage]) -> str:
    return "\n".join(
        f"[{i}] {p.title}: {p.text[:PASSAGE_CHARS]}" for i, p in enumerate(passages, 1)
    )


def summarize(model: ChatModel, task: str, passages: Sequence[Passage]) -> str:
    """The answer to `task` in a few sentences, followed by the titles it was drawn from."""
    messages = [
        system(prompts.SUMMARIZE_SYSTEM),
        user(prompts.SUMMARIZE_USER.format(task=task, passages=render_passages(passages))),
    ]
    summary = structured(model, Summary, messages, max_tokens=240)
    titles = ", ".join(dict.fromkeys(p.title for p in passages))
    return f"{summary.answer} (sources: {titles})"
