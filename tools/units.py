"""Units of measurement: a conversion written in plain text ("Convert 408 months to years",
"How many seconds are there in 3 hours?"), found and computed with pint's unit registry."""

import re
from functools import cache
from typing import NamedTuple

from tools.arithmetic import NUMBER, THOUSANDS

_NUMBER = rf"(?P<value>{NUMBER}|an?\b|one\b)"  # "how many seconds in a day"
_UNIT = r"[a-z]+(?: [a-z]+)?"  # one or two words ("square metres")
# "<number> <unit> to|in|into <unit>"
_CONVERSION = re.compile(
    rf"(?<![\w.]){_NUMBER}\s+(?P<unit>{_UNIT})\s+(?:to|in|into)\s+(?P<to>{_UNIT})", re.IGNORECASE
)
# "how many <unit> (are) (there) (in) <number> <unit>"
_HOW_MANY = re.compile(
    rf"\bhow many\s+(?P<to>[a-z]+(?: (?!are\b|is\b|there\b|in\b)[a-z]+)?)\s+(?:(?:are|is)\s+)?"
    rf"(?:there\s+)?(?:in\s+)?{_NUMBER}\s+(?P<unit>{_UNIT})",
    re.IGNORECASE,
)


class Conversion(NamedTuple):
    value: float
    unit: str
    to: str
    result: float  # `value` in `to`


def convert(value: float, unit: str, to: str) -> float:
    """`value` in `unit`, expressed in `to` (pint; a dimension mismatch is a ValueError)."""
    import pint

    try:
        return float(_registry().Quantity(value, unit).to(to).magnitude)
    except pint.DimensionalityError as e:
        raise ValueError(f"cannot convert {unit} to {to}: they measure different things") from e


def find_conversion(text: str) -> Conversion | None:
    """The first unit conversion that `text` asks for, computed, or None. Two-word unit
    names are tried before their one word next to the number or to "to" ("2 square metres"
    before "metres"); a pair pint does not know, or cannot convert, is no conversion."""
    import pint

    asked = sorted(
        (m for pattern in (_CONVERSION, _HOW_MANY) for m in pattern.finditer(text)),
        key=lambda m: m.start(),
    )
    for match in asked:
        word = match["value"].isalpha()  # "a", "an" or "one"
        value = 1.0 if word else float(THOUSANDS.sub("", match["value"]))
        for unit in _names(match["unit"], last=True):
            for to in _names(match["to"], last=False):
                try:
                    return Conversion(value, unit, to, convert(value, unit, to))
                except (pint.errors.PintError, ValueError, AttributeError):
                    continue
    return None


def _names(words: str, last: bool) -> list[str]:
    """A unit's candidate names: both words, then the one word nearest the number (`last`)
    or nearest "to"."""
    parts = words.split()
    return [words, parts[-1 if last else 0]] if len(parts) == 2 else [words]


def unit_of(text: str) -> str | None:
    """The unit `text` names, in pint's one spelling ("metres", "m" → "meter"), or None."""
    import pint

    try:
        return str(_registry().parse_units(text))
    except (pint.errors.PintError, ValueError, SyntaxError, AttributeError):
        return None


@cache
def _registry():
    import pint

    return pint.UnitRegistry()
