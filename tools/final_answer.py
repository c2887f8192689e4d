"""`final_answer`: the planner's task is the answer; its observation is final, and the agent
ends the run with it.

The planner has every result in front of it, so it writes the answer itself. A second model
call that composes the answer from the results could only lose facts on the way: with the
bundled 135M model it did, and the answer came out worse than the results it read.

A small planner still sometimes writes an answer that holds nothing: it repeats an earlier
step's task ("Find the length of the Nile."), it states a number that no result, nor the
request, holds, or it gives a number a unit the run never gives it ("11,000 kilometres"
where the result says "11,000 metres", "801103 square kilometres" where it says "801103
people"). Such an answer is never better than the facts found, so the tool answers with
the sentence of the results that best matches the request instead (for a misstated
measure, among the sentences that state its number), quoted verbatim under its title as
the search tools quote passages.

A comparison's answer is a verdict, "W has more employees: 61626, against 29,224 for L.", and
a small planner tends to name as W the entity the request names first, whatever the values
say. The values it quotes are the results', so a verdict they contradict is turned round.
"""

import re
from collections.abc import Iterator, Set

from schemas.trajectory import Scratchpad
from tools.arithmetic import NUMBER, digits_in, known_numbers, numbers_in
from tools.base import Observation, Tool, ToolError
from tools.units import unit_of

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
        elif misstated := misstated_measures(answer, " ".join([request, *scratchpad.results()])):
            answer = best_sentence(request, scratchpad, stating=misstated) or answer
        return Observation(text=turned_round(answer), final=True)


def holds_nothing(request: str, answer: str, scratchpad: Scratchpad) -> bool:
    """Whether `answer` repeats an earlier step's task, or states a number that neither the
    request nor any result holds."""
    steps = scratchpad.steps
    if answer.casefold() in {s.plan.task.strip().casefold() for s in steps}:
        return True
    return not numbers_in(answer) <= known_numbers(request, scratchpad)


_UNIT = (
    r"(?:square |cubic )?(?:(?:kilo|centi|milli)?(?:metre|meter|gram|litre|liter)|tonne|mile"
    r"|second|minute|hour|day|week|month|year|degree|percent)s?|feet|foot"
)
_MEASURE = re.compile(rf"(?<![\w.])(?P<number>{NUMBER}) (?P<unit>{_UNIT})\b", re.IGNORECASE)
_AFTER = re.compile(
    rf"(?<![\w.])(?P<number>{NUMBER})(?P<after>\s+(?:square |cubic )?[a-z]+)?", re.IGNORECASE
)


def misstated_measures(answer: str, known: str) -> set[str]:
    """The numbers `answer` gives a unit that `known` (the request and the results) never
    writes after them ("m" and "metres" are one unit). A bare number in `known` (a
    calculation's "= 5000", "the age of 35.") takes any unit. pint reads only the words
    after the answer's own measured numbers, and only when it has some."""
    measures = {m["number"].replace(",", ""): m["unit"] for m in _MEASURE.finditer(answer)}
    if not measures:
        return set()
    after: dict[str, set[str]] = {}
    for found in _AFTER.finditer(known):
        number = found["number"].replace(",", "")
        if number in measures:
            after.setdefault(number, set()).add(_unit(found["after"] or ""))
    return {
        number
        for number, unit in measures.items()
        if after.get(number) and "" not in after[number] and _unit(unit) not in after[number]
    }


def _unit(words: str) -> str:
    """The unit `words` begin with, in one spelling, else their first word ("" if none)."""
    split = words.lower().split()
    first = " ".join(split[:2] if split[:1] in (["square"], ["cubic"]) else split[:1])
    if not first:
        return ""
    return unit_of(first) or first


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


def best_sentence(
    request: str, scratchpad: Scratchpad, stating: Set[str] = frozenset()
) -> str | None:
    """The sentence of the results closest in meaning to `request`, as `Title: sentence`,
    among those stating one of the numbers `stating` if any does; None when no step returned
    a result."""
    candidates = list(_sentences(scratchpad))
    holding = [c for c in candidates if stating & digits_in(c)]
    candidates = holding or candidates
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
