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

A comparison's answer is a verdict, "W has more employees: 61626, against 29,224 for L.", and
a small planner tends to name as W the entity the request names first, whatever the values
say. The values it quotes are the results', so a verdict they contradict is turned round.
"""

import re
from collections.abc import Iterator

from schemas.trajectory import Scratchpad
from tools.arithmetic import NUMBER, known_numbers, numbers_in
from tools.base import Observation, Tool, ToolError

_SENTENCE_END = re.compile(r"(?<=[.!?])\s+(?=[A-Z0-9])")


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
        return Observation(text=turned_round(answer), final=True)


def holds_nothing(request: str, answer: str, scratchpad: Scratchpad) -> bool:
    """Whether `answer` repeats an earlier step's task, or states a number that neither the
    request nor any result holds."""
    steps = scratchpad.steps
    if answer.casefold() in {s.plan.task.strip().casefold() for s in steps}:
        return True
    return not numbers_in(answer) <= known_numbers(request, scratchpad)


_VERDICT = re.compile(
    rf"(?P<w>.+?) (?P<claim>(?:has|have|is|are|expects?) (?P<word>[a-z]+)[^:]*: \D*?)"
    rf"(?P<x>{NUMBER})(?P<between>\D*?), against (?P<y>{NUMBER})(?P<after>\D*?) for "
    rf"(?P<l>.+?)(?P<end>[.!]?)"
)
_HIGHER_WINS = {"more", "higher", "longer", "taller", "larger", "bigger", "greater"}
_LOWER_WINS = {"fewer", "less", "lower", "shorter", "smaller"}
_YEARS_WIN = {"older": False, "younger": True}  # founded or born in: the earlier is older


def turned_round(answer: str) -> str:
    """`answer`, with a comparison's verdict that its own values contradict turned round:
    the winner and the loser swap places, each with its value."""
    verdict = _VERDICT.fullmatch(answer)
    if verdict is None:
        return answer
    x, y = (float(verdict[v].replace(",", "")) for v in "xy")
    word = verdict["word"]
    if word in _YEARS_WIN and " in " in verdict["claim"]:
        higher_wins = _YEARS_WIN[word]
    elif word in _HIGHER_WINS | _LOWER_WINS:
        higher_wins = word in _HIGHER_WINS
    else:
        return answer
    if x == y or (x > y) == higher_wins:
        return answer
    loser, winner = verdict["l"], verdict["w"]
    return (
        f"{loser[:1].upper()}{loser[1:]} {verdict['claim']}{verdict['y']}{verdict['between']}, "
        f"against {verdict['x']}{verdict['after']} for {_mid_sentence(winner)}{verdict['end']}"
    )


def _mid_sentence(name: str) -> str:
    """A name that began the sentence, as it reads inside one ("The Nile" → "the Nile")."""
    return "the" + name[3:] if name.startswith("The ") else name


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
    for result in scratchpad.results():
        for line in result.splitlines():
            title, sep, text = line.partition(": ")
            if not sep or len(title) > 80:
                title, text = "", line
            for sentence in _SENTENCE_END.split(text.strip()):
                if sentence:
                    yield f"{title}: {sentence}" if title else sentence
