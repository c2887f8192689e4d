"""How atlas requests are worded: templates split into training and held-out phrasings, put
together with openers, closers and the small slips people make when they type.

A request is a core template ("How high is {x}?") filled in, then voiced: maybe an opener
("Quick question: "), maybe a closer (" Thanks!"), sometimes no final punctuation, lower
case or a typo in an ordinary word. The parts combine into hundreds of wordings per shape.
Held-out core templates, openers and closers never appear in training requests, so an
evaluation on held-out wordings measures how a planner copes with phrasings it never saw.
Entity names are never altered: a typo in a name would make the request unanswerable.
"""

import random
import re
from collections.abc import Sequence
from typing import Literal, NamedTuple

Split = Literal["train", "heldout", "all"]


class Phrasings(NamedTuple):
    family: str
    train: tuple[str, ...]
    heldout: tuple[str, ...]

    def pick(self, rng: random.Random, split: Split) -> tuple[str, str]:
        """(template, phrasing id): a training template, a held-out one, or either."""
        pool = [(t, i) for i, t in enumerate(self.train)] if split != "heldout" else []
        if split != "train":
            pool += [(t, len(self.train) + i) for i, t in enumerate(self.heldout)]
        template, index = rng.choice(pool)
        return template, f"{self.family}/{index}"

    def is_heldout(self, phrasing: str) -> bool:
        return int(phrasing.rpartition("/")[2]) >= len(self.train)


OPENERS = Phrasings(
    "opener",
    ("", "", "", "", "Hi, ", "Hey, ", "Hello! ", "Quick question: ", "Please, ", "OK, ",
     "Question: ", "I wonder: ", "Excuse me, ", "Hi there. "),
    ("Good day! ", "Sorry to bother you, ", "Hey there, ", "One more thing: "),
)  # fmt: skip
CLOSERS = Phrasings(
    "closer",
    ("", "", "", "", " Thanks!", " Thank you.", " Please.", " Thanks in advance.", " Cheers!",
     " Thx."),
    (" Many thanks.", " I'd appreciate it.", " Ta!"),
)  # fmt: skip

NOISE = 0.12  # chance of each slip: no final punctuation, lower case, a typo
_WORD = re.compile(r"[A-Za-z]{4,}")


def voice(
    core: str, rng: random.Random, split: Split, names: Sequence[str] = (), *, polite: bool = True
) -> str:
    """`core` as a person might type it. `names` are kept exactly as written; `polite=False`
    leaves out openers and closers (a greeting needs none)."""
    text = core
    if polite:  # a held-out request may take any opener: its core is what is held out
        frame = "all" if split == "heldout" else split
        opener, _ = OPENERS.pick(rng, frame)
        closer, _ = CLOSERS.pick(rng, frame)
        if opener and opener[-2] in ",:" and not core.startswith(tuple(names)):
            text = text[:1].lower() + text[1:]
        text = f"{opener}{text}{closer}"
    if rng.random() < NOISE:
        text = _protect(text, names, str.lower)
    if rng.random() < NOISE:
        text = _typo(text, rng, names)
    if rng.random() < NOISE and text[-1] in "?.!":
        text = text[:-1]
    return text


def _protect(text: str, names: Sequence[str], change) -> str:
    """`change` applied to everything in `text` but the names."""
    if not names:
        return change(text)
    parts = re.split(f"({'|'.join(re.escape(n) for n in names)})", text)
    return "".join(p if p in names else change(p) for p in parts)


def _typo(text: str, rng: random.Random, names: Sequence[str]) -> str:
    """One slip in an ordinary word: two letters swapped, one dropped or one doubled."""
    taken = [(m.start(), m.end()) for n in names for m in re.finditer(re.escape(n), text)]
    words = [m for m in _WORD.finditer(text) if not any(a <= m.start() < b for a, b in taken)]
    if not words:
        return text
    word = rng.choice(words)
    chars, i = list(word.group()), rng.randrange(1, len(word.group()) - 1)
    match rng.randrange(3):
        case 0:
            chars[i], chars[i + 1] = chars[i + 1], chars[i]
        case 1:
            del chars[i]
        case _:
            chars.insert(i, chars[i])
    return text[: word.start()] + "".join(chars) + text[word.end() :]
