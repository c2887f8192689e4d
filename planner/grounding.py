"""A plan names only what the run has seen.

A small planner copies a rare name or an e-mail address with a letter or two wrong
("Negu Sababrakre" becomes "Negu Sabakre"); the tool then looks for someone who does not
exist, and the answer repeats the wrong name. The run knows every name it may use: the
request, the conversation before it and the tools' observations. So a name or an address
in a plan that the run has not seen is replaced by the closest one it has seen, when one is
close; everything else stays as written.

A grammar could enforce this as well, but a pattern of the run's names under the task's
length bound compiles to ~10^4 rules per step (measured: 613 kB of GBNF for one
observation's names), and a snap after decoding costs microseconds.
"""

import difflib
import re
from collections.abc import Iterable, Sequence

from pydantic import ValidationError

from schemas.plan import PlanRecord
from schemas.trajectory import Exchange, Scratchpad, texts_read

ADDRESS = r"[\w.+-]+@[\w-]+(?:\.[\w-]+)+"
# an address, or a word of letters (hyphenated parts included); digits are never names
TOKENS = re.compile(rf"(?P<address>{ADDRESS})|(?P<word>[^\W\d_]+(?:-[^\W\d_]+)*)")
SENTENCE_END = re.compile(r"(?:^|[.!?:]\s+)$")  # what precedes a sentence's first word
CUTOFF = 0.75  # difflib ratio: "Sabakre" ~ "Sababrakre" is 0.82, "Paris" ~ "Parisian" 0.77
SHORTEST = 4  # shorter words ("I", "Dr") are left alone: too many near neighbours
# A capital that starts a sentence says little about a name ("Find", "Calculate"): such a
# word snaps only when long and very close ("Papegugrukri" ~ "Papegukri" is 0.86).
FIRST_CUTOFF, FIRST_SHORTEST = 0.85, 6


class Vocabulary:
    """The names and addresses of the run's texts, as written there."""

    def __init__(self, texts: Iterable[str]) -> None:
        self.words: set[str] = set()  # every word, lower-cased: seen in any case is seen
        self.names: list[str] = []  # capitalised words, the candidates to snap to
        self.addresses: list[str] = []
        for text in texts:
            for match in TOKENS.finditer(text):
                if match["address"]:
                    self.addresses.append(match["address"])
                elif match["word"] not in self.names and match["word"][0].isupper():
                    self.names.append(match["word"])
                if match["word"]:
                    self.words.add(match["word"].lower())

    def snap(self, text: str) -> str:
        """`text` with every unseen name or address that is close to a seen one replaced."""
        return TOKENS.sub(lambda m: self._snapped(m, text), text)

    def _snapped(self, match: re.Match[str], text: str) -> str:
        token = match[0]
        if match["address"]:
            return token if token in self.addresses else _closest(token, self.addresses)
        if token.lower() in self.words or not token[0].isupper():
            return token
        if SENTENCE_END.search(text[: match.start()]):
            return (
                _closest(token, self.names, FIRST_CUTOFF) if len(token) >= FIRST_SHORTEST else token
            )
        return _closest(token, self.names) if len(token) >= SHORTEST else token


def _closest(token: str, candidates: list[str], cutoff: float = CUTOFF) -> str:
    found = difflib.get_close_matches(token, candidates, n=1, cutoff=cutoff)
    return found[0] if found else token


def ground(
    plan: PlanRecord, request: str, scratchpad: Scratchpad, history: Sequence[Exchange] = ()
) -> PlanRecord:
    """`plan` with its names and addresses snapped to those the run has seen. A snap never
    turns the plan into a step already taken (the grammar kept it fresh) nor past a field's
    length bound: then the plan stays as written."""
    vocabulary = Vocabulary(texts_read(request, scratchpad, history))
    fields = ("context", "thoughts", "task")
    try:
        snapped = PlanRecord.model_validate(
            {**plan.model_dump(), **{f: vocabulary.snap(getattr(plan, f)) for f in fields}}
        )
    except ValidationError:
        return plan
    taken = {(s.plan.task, s.plan.tool) for s in scratchpad.steps}
    return plan if (snapped.task, snapped.tool) in taken else snapped
