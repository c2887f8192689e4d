"""Characters as they appear inside a JSON string, in canonical form.

A schema constrains the decoded string, a grammar constrains the JSON text. The canonical
encoding is `json.dumps(..., ensure_ascii=False)`: `"` and `\\` are escaped, control
characters use their short escape or `\\u00XX`, everything else is written raw.
"""

import json
from decimal import Decimal
from functools import lru_cache
from json.encoder import encode_basestring  # json.dumps' own escaping
from typing import Any

from schemas.grammar.gbnf import (
    alternatives,
    char_class,
    literal,
    normalize_ranges,
    subtract_ranges,
)

MAX_CODE_POINT = 0x10FFFF
SURROGATES = (0xD800, 0xDFFF)
# Characters that the canonical encoding writes as an escape sequence.
ESCAPED = [(0x00, 0x1F), (ord('"'), ord('"')), (ord("\\"), ord("\\"))]

# Any JSON string character, raw or escaped: what a plain string admits.
STRING_CHAR = r'[^"\\\x00-\x1F] | "\\" (["\\/bfnrt] | "u" [0-9a-fA-F]{4})'


# Exactly the canonical encodings: raw, the short escapes, \u00XX for other controls.
CANONICAL_CHAR = r'[^"\\\x00-\x1F] | "\\" ["\\bfnrt] | "\\u00" [01] [0-9a-f]'
SHORT_ESCAPES = '"\\bfnrt'


def encode(ch: str) -> str:
    """The canonical JSON text of one character."""
    return json.dumps(ch, ensure_ascii=False)[1:-1]


def chars(ranges: list[tuple[int, int]]) -> str:
    """A GBNF expression matching the canonical encoding of each character in `ranges`."""
    wanted = subtract_ranges(normalize_ranges(ranges), [SURROGATES])
    raw = subtract_ranges(wanted, ESCAPED)
    options = []
    if raw:
        options.append(_class(raw))
    for lo, hi in ESCAPED:
        for code in range(lo, hi + 1):
            if any(a <= code <= b for a, b in wanted):
                options.append(literal(encode(chr(code))))
    if not options:
        raise ValueError("empty character set")
    return alternatives(options)


def _class(raw: list[tuple[int, int]]) -> str:
    """Prefer the short negated form for sets that reach the top of Unicode."""
    if raw[-1][1] == MAX_CODE_POINT:
        missing = subtract_ranges([(0, MAX_CODE_POINT)], raw)
        missing = subtract_ranges(missing, [SURROGATES])
        return char_class(normalize_ranges([*missing, *ESCAPED]), negated=True)
    return char_class(raw)


# Control characters without a short escape, as the canonical encoding writes them.
_U_ESCAPES = [e for e in (encode(chr(c)) for c in range(0x20)) if e.startswith("\\u")]


@lru_cache(maxsize=4096)
def char_except(units: frozenset[str]) -> str:
    """One canonical JSON string character other than the given encoded characters."""
    raw = [(ord(u), ord(u)) for u in units if len(u) == 1]
    options = [char_class(normalize_ranges([*ESCAPED, *raw]), negated=True)]
    short = [c for c in SHORT_ESCAPES if "\\" + c not in units]
    if short:
        options.append('"\\\\" ' + char_class([(ord(c), ord(c)) for c in short]))
    if any(u in units for u in _U_ESCAPES):
        options += [literal(u) for u in _U_ESCAPES if u not in units]
    else:
        options.append('"\\\\u00" [01] [0-9a-f]')
    return alternatives(options)


def canonical_value_json(value: Any, float_point: bool = False) -> str:
    """A JSON value in canonical compact form, keys in the order given. `float_point`:
    integral floats keep a `.0` (before draft 6, 1.0 is not an integer)."""
    if isinstance(value, str):
        return encode_basestring(value)
    if value is None or isinstance(value, bool):
        return json.dumps(value)
    if isinstance(value, int | float):
        return number_text(value, float_point)
    if isinstance(value, dict):
        items = (
            f"{encode_basestring(str(k))}:{canonical_value_json(v, float_point)}"
            for k, v in value.items()
        )
        return "{" + ",".join(items) + "}"
    if isinstance(value, list | tuple):
        return "[" + ",".join(canonical_value_json(v, float_point) for v in value) + "]"
    raise TypeError(f"not a JSON value: {type(value).__name__}")


def number_text(value: int | float, float_point: bool = False) -> str:
    """Plain decimal notation: integral floats as integers (or N.0), never an exponent."""
    if isinstance(value, float) and float_point and value.is_integer():
        return f"{int(value)}.0"
    if isinstance(value, int) or value == 0:  # -0.0 is the number 0
        return str(int(value))
    text = format(Decimal(repr(value)), "f")  # the shortest digits that round-trip
    return text.rstrip("0").rstrip(".") if "." in text else text


def same_value(a: Any, b: Any) -> bool:
    """JSON equality: numbers by value, objects whatever their key order."""
    return canonical_value_json(_sorted(a)) == canonical_value_json(_sorted(b))


def _sorted(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _sorted(value[k]) for k in sorted(value)}
    if isinstance(value, list):
        return [_sorted(v) for v in value]
    return value
