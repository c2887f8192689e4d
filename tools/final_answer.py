"""`final_answer`: the planner's task is the answer; its observation is final, and the agent
ends the run with it.

The planner has every result in front of it, so it writes the answer itself. A second model
call that composes the answer from the results could only lose facts on the way: with the
bundled 135M model it did, and the answer came out worse than the results it read.

A small planner still sometimes writes an answer that holds nothing: it repeats an earlier
step's task ("Find the length of the Nile."), or it states a number that no result, nor the
request, holds. Such an answer is never better than the facts found, so the tool answers
with the sentence of the results that best matches the request instead, quoted verbatim
under its title as the search tools quote passages.
"""

import re
from collections.abc import Iterator

from schemas.trajectory import Scratchpad
from tools.base import Observation, Tool, ToolError

_NUMBER = re.compile(r"\d[\d,]*(?:\.\d+)?")
_SENTENCE_END = re.compile(r"(?<=[.!?])\s+(?=[A-Z0-9])")
# results spell small numbers out ("two small moons"); an answer may write them as digits
_SPELLED = {
    w: str(n)
    for n, w in enumerate(
        ("one", "two", "three", "four", "five", "six", "seven", "eight", "nine", "ten"), 1
    )
}
_WORD = re.compile(r"[a-z]+")


class FinalAnswer(Tool):
    name = "final_answer"
    description = (
        "Gives the final answer to the user once the results so far contain it; the task is "
        "the answer itself, written out in full."
    )
    ends_run = True

    def run(self, request: str, task: str, scratchpad: Scratchpad) -> Observation:
        answer = task.strip()
        if not answer:
            raise ToolError("the answer is empty")
        if holds_nothing(request, answer, scratchpad):
            answer = best_sentence(request, scratchpad) or answer
        return Observation(text=answer, final=True)


def holds_nothing(request: str, answer: str, scratchpad: Scratchpad) -> bool:
    """Whether `answer` repeats an earlier step's task, or states a number that neither the
    request nor any result holds."""
    steps = scratchpad.steps
    if answer.casefold() in {s.plan.task.strip().casefold() for s in steps}:
        return True
    known = _numbers(" ".join([request, *(s.observation for s in steps if not s.error)]))
    return not _numbers(answer) <= known


def _numbers(text: str) -> set[str]:
    spelled = {_SPELLED[w] for w in _WORD.findall(text.lower()) if w in _SPELLED}
    return spelled | {n.replace(",", "") for n in _NUMBER.findall(text)}


def best_sentence(request: str, scratchpad: Scratchpad) -> str | None:
    """The sentence of the results closest in meaning to `request`, as `Title: sentence`; None
    when no step returned a result."""
    candidates = list(_sentences(scratchpad))
    if not candidates:
        return None
    from tools.retrieval.embedder import shared_embedder  # loads a model: only when needed

    embedder = shared_embedder()
    scores = embedder.encode(candidates) @ embedder.encode([request])[0]
    return candidates[int(scores.argmax())]


def _sentences(scratchpad: Scratchpad) -> Iterator[str]:
    """Every sentence of the results, under the title its passage is quoted with (search
    results are `Title: text` lines; other results have no title)."""
    for step in scratchpad.steps:
        if step.error:
            continue
        for line in step.observation.splitlines():
            title, sep, text = line.partition(": ")
            if not sep or len(title) > 80:
                title, text = "", line
            for sentence in _SENTENCE_END.split(text.strip()):
                if sentence:
                    yield f"{title}: {sentence}" if title else sentence
