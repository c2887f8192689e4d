"""Requests written by a teacher model (self-instruct), for the simulation's LLM world.

Each round shows the teacher a few seed examples and a random topic and asks, under a
schema, for a small batch of new requests, single-step and multi-step. A request whose
embedding is too close to one already kept (cosine ≥ `max_similarity`) is dropped, so the
set does not fill up with rewordings. Kept requests are appended to the output as they
come: a rerun continues towards the count, checking new requests against the old ones.
"""

import random
from pathlib import Path
from typing import Literal

import numpy as np
from pydantic import BaseModel, Field, conlist, create_model

from models.chat_model import ChatModel, CompletionError
from schemas.chat import system, user
from schemas.errors import WaypointError
from schemas.records import Appender, read_records
from schemas.request import Request
from tools.retrieval.embedder import shared_embedder

Kind = Literal["single-step", "multi-step"]

SEED_EXAMPLES: tuple[tuple[Kind, str], ...] = (
    ("single-step", "How tall is the tallest waterfall in Venezuela?"),
    ("single-step", "Remind me what the square root of 7569 is."),
    ("single-step", "Who composed the opera that premiered at La Scala in 1926?"),
    (
        "multi-step",
        "When is the next total solar eclipse visible from Spain? Add it to my calendar.",
    ),
    (
        "multi-step",
        "Which of Saturn's two largest moons was discovered first, and how many years apart?",
    ),
    ("multi-step", "Ask me which city I fly to, then e-mail my team the local time difference."),
)

TOPICS = (
    "astronomy", "cooking", "football", "European history", "personal finance", "gardening",
    "programming languages", "travel planning", "chemistry", "music festivals", "architecture",
    "marine biology", "cycling", "film awards", "electric cars", "mountaineering", "medicine",
    "board games", "climate", "office scheduling", "birthdays and family", "restaurants",
    "public transport", "space missions", "world records", "literature prizes", "coffee",
)  # fmt: skip

GENERATE_SYSTEM = """\
You write requests that users send to a personal assistant agent. The agent can search
Wikipedia and the internet, calculate, ask the user, send e-mails, create calendar events
and answer. A single-step request needs one tool call before the answer; a multi-step
request needs several, each building on the last. Write varied, specific, realistic
requests, each one sentence or two, different from the examples."""

GENERATE_USER = """\
Examples:
{examples}

Write {n} new requests about {topic}, mixing single-step and multi-step ones."""


class GeneratedRequest(BaseModel):
    text: str = Field(min_length=10, max_length=200, description="the user's request")
    kind: Kind


def batch_model(n: int) -> type[BaseModel]:
    return create_model(
        "Requests", requests=(conlist(GeneratedRequest, min_length=1, max_length=n), ...)
    )


def generate_requests(
    model: ChatModel,
    count: int,
    out: Path,
    *,
    seed: int = 0,
    batch_size: int = 5,
    max_similarity: float = 0.9,
    max_rounds: int | None = None,
) -> list[Request]:
    """`count` requests in `out` (those already there count), or WaypointError when the
    teacher keeps repeating itself for `max_rounds` rounds (default 5 per missing request)."""
    kept = read_records(out, Request)
    embedder = shared_embedder()
    vectors = embedder.encode([r.text for r in kept])
    rng = random.Random(f"requests:{seed}:{len(kept)}")
    batch_class = batch_model(batch_size)
    rounds = max_rounds or 5 * max(count - len(kept), 1)
    with Appender(out) as appender:
        for round_number in range(rounds):
            if len(kept) >= count:
                break
            batch = _ask(model, batch_class, rng, batch_size, seed * 100_003 + round_number)
            for candidate in batch:
                vector = embedder.encode([candidate.text])
                if len(kept) >= count or _near(vectors, vector[0]) >= max_similarity:
                    continue
                request = Request(
                    id=f"llm-{seed}-{len(kept):05d}",
                    text=candidate.text,
                    source="teacher",
                    shape=candidate.kind,
                )
                appender.append(request)
                kept.append(request)
                vectors = np.concatenate([vectors, vector])
    if len(kept) < count:
        raise WaypointError(
            f"the teacher gave only {len(kept)} distinct requests of {count} in {rounds} rounds; "
            f"they are in {out}: rerun to continue, or raise --max-similarity"
        )
    return kept[:count]


def _near(vectors: np.ndarray, vector: np.ndarray) -> float:
    """The highest cosine similarity to a kept request (vectors are unit length)."""
    return float(np.max(vectors @ vector)) if len(vectors) else -1.0


def _ask(
    model: ChatModel, batch_class: type[BaseModel], rng: random.Random, n: int, seed: int
) -> list[GeneratedRequest]:
    examples = rng.sample(SEED_EXAMPLES, 3)
    prompt = GENERATE_USER.format(
        examples="\n".join(f"- ({kind}) {text}" for kind, text in examples),
        n=n,
        topic=rng.choice(TOPICS),
    )
    try:
        completion = model.complete(
            [system(GENERATE_SYSTEM), user(prompt)],
            schema=batch_class,
            max_tokens=80 * n + 32,
            temperature=1.0,
            seed=seed,
        )
    except CompletionError:
        return []  # a cut-off or invalid batch is one lost round, not the end of the run
    return list(completion.parsed.requests)
