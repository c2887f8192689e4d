"""Integers and decimals as GBNF, with bounds, digit caps and multipleOf.

Numbers are written without exponent when bounded, so the grammar can compare them digit
by digit: an integer range becomes a union of same-length digit ranges, a decimal bound
becomes a constraint on the integer part plus a constraint on the fraction digits.
"""

import contextlib
from collections.abc import Callable
from decimal import Decimal
from functools import lru_cache

from schemas.grammar.gbnf import alternatives, char_class, literal, repeat

DIGIT = "[0-9]"
ENUMERATE_LIMIT = 256  # a bounded range this small is written out value by value


AddRule = Callable[[str, str], str]  # (name hint, body) -> rule name


class Unsatisfiable(ValueError):
    pass


def _seq(*parts: str) -> str:
    kept = [p for p in parts if p and p != '""']
    if not kept:
        return '""'
    return " ".join(p if " | " not in p or p.startswith("(") else f"({p})" for p in kept)


def _digit_class(lo: int, hi: int) -> str:
    if lo == hi:
        return literal(str(lo))
    if lo == 0 and hi == 9:
        return DIGIT
    return char_class([(ord("0") + lo, ord("0") + hi)])


@lru_cache(maxsize=4096)
def digits_between(lo: str, hi: str) -> str:
    """Digit strings of one length n with lo <= x <= hi."""
    if lo == hi:
        return literal(lo) if lo else '""'
    a, b, rest = int(lo[0]), int(hi[0]), len(lo) - 1
    if lo[1:] == "0" * rest and hi[1:] == "9" * rest:
        return _seq(_digit_class(a, b), repeat(DIGIT, rest, rest))
    if a == b:
        return _seq(literal(lo[0]), digits_between(lo[1:], hi[1:]))
    options = [_seq(literal(lo[0]), digits_between(lo[1:], "9" * rest))]
    if b - a > 1:
        options.append(_seq(_digit_class(a + 1, b - 1), repeat(DIGIT, rest, rest)))
    options.append(_seq(literal(hi[0]), digits_between("0" * rest, hi[1:])))
    return alternatives(options)


def natural_range(lo: int, hi: int | None, max_digits: int) -> list[str]:
    """Options matching the decimal numerals of lo..hi (lo >= 0; hi None: up to max_digits)."""
    if hi is not None and hi < lo:
        return []
    top = len(str(hi)) if hi is not None else max(max_digits, len(str(lo)))
    options = []
    for n in range(len(str(lo)), top + 1):
        first = max(lo, 10 ** (n - 1) if n > 1 else 0)
        last = min(hi if hi is not None else 10**n - 1, 10**n - 1)
        if first > last:
            continue
        if hi is None and first == 10 ** (n - 1) and n > 1:
            # every longer numeral is in range too: one option covers them all
            options.append(_seq("[1-9]", repeat(DIGIT, n - 1, top - 1)))
            break
        options.append(digits_between(str(first), str(last)))
    return options


def integer(lo: int | None, hi: int | None, max_digits: int) -> str:
    """Integers in [lo, hi]; None means unbounded on that side (up to max_digits digits)."""
    if lo is not None and hi is not None and lo > hi:
        raise Unsatisfiable(f"no integer between {lo} and {hi}")
    options = []
    if lo is None or lo < 0:
        neg_lo = 1 if hi is None or hi >= 0 else -hi
        neg_hi = None if lo is None else -lo
        neg = natural_range(neg_lo, neg_hi, max_digits)
        if neg:
            options.append(_seq('"-"', alternatives(neg)))
    if hi is None or hi >= 0:
        options.extend(natural_range(max(lo, 0) if lo is not None else 0, hi, max_digits))
    if not options:
        raise Unsatisfiable(f"no integer between {lo} and {hi}")
    return alternatives(options)


def multiple_of(k: int, lo: int | None, hi: int | None, max_digits: int, add: AddRule) -> str:
    """Integers divisible by k in [lo, hi]."""
    if lo is not None and hi is not None:
        first = -(-lo // k) * k
        values = range(first, hi + 1, k)
        if len(values) > ENUMERATE_LIMIT:
            raise ValueError("range too wide to enumerate its multiples")
        if not values:
            raise Unsatisfiable(f"no multiple of {k} between {lo} and {hi}")
        return alternatives([literal(str(v)) for v in values])
    if hi is not None or (lo is not None and lo != 0):
        raise ValueError("only lower bound 0 or no bounds are supported")
    body = _divisible(k, max_digits, add)
    return body if lo == 0 else _seq('"-"?', body)


def _divisible(k: int, max_digits: int, add: AddRule) -> str:
    """Numerals of natural numbers divisible by k: a remainder automaton unrolled over the
    digit positions, one named rule per (digits left, remainder) state."""
    if k > 64:
        raise ValueError("multipleOf larger than 64")
    names: dict[tuple[int, int], str | None] = {}
    for n in range(max_digits):  # n: digits still allowed after this state
        for r in range(k):
            options = ['""'] if r == 0 else []
            if n > 0:
                by_next: dict[int, list[int]] = {}
                for d in range(10):
                    by_next.setdefault((r * 10 + d) % k, []).append(d)
                for nxt, digits in by_next.items():
                    if names[(n - 1, nxt)] is not None:
                        options.append(_seq(_digits(digits), names[(n - 1, nxt)]))
            names[(n, r)] = add(f"mul{k}-{n}-{r}", alternatives(options)) if options else None
    firsts = [
        _seq(literal(str(d)), names[(max_digits - 1, d % k)])
        for d in range(1, 10)
        if names[(max_digits - 1, d % k)] is not None
    ]
    return alternatives(['"0"', *firsts])


def _digits(ds: list[int]) -> str:
    if len(ds) == 1:
        return literal(str(ds[0]))
    return char_class([(ord("0") + d, ord("0") + d) for d in ds])


# --- decimals ----------------------------------------------------------------------------


def _split(value: Decimal) -> tuple[int, str]:
    """Integer part and fraction digits (no trailing zeros) of a non-negative decimal."""
    text = format(value, "f")
    whole, _, frac = text.partition(".")
    return int(whole), frac.rstrip("0")


def fraction(
    lo: str | None, lo_strict: bool, hi: str | None, hi_strict: bool, max_digits: int,
    required: bool = False,
) -> str:  # fmt: skip
    """The optional fraction `("." digits)?` whose value 0.F satisfies the bounds.

    lo/hi are fraction digit strings (None: no bound on that side). `required`: a non-zero
    fraction in canonical form (its last digit is not 0), so that the number is not an
    integer in any spelling.
    """
    empty_ok, nonempty = _fraction_digits(lo, lo_strict, hi, hi_strict, max_digits, required)
    if required:
        empty_ok = False
    if nonempty is None:
        if not empty_ok:
            raise Unsatisfiable("no fraction satisfies the bounds")
        return '""'
    dotted = _seq('"."', nonempty)
    return f"({dotted})?" if empty_ok else dotted


def _fraction_digits(
    lo: str | None, lo_strict: bool, hi: str | None, hi_strict: bool, n: int,
    canonical: bool = False,
) -> tuple[bool, str | None]:  # fmt: skip
    """(can the digit string end here, GBNF for a non-empty continuation or None).
    `canonical`: a digit string never ends with 0."""
    # Ending now means the remaining fraction is 0.
    lo_ok = lo is None or (lo.strip("0") == "" and not lo_strict)
    hi_ok = hi is None or not (hi_strict and hi.strip("0") == "")
    empty_ok = lo_ok and hi_ok
    if n == 0:
        return empty_ok, None
    if lo is None and hi is None:
        body = repeat(DIGIT, 1, n)
        if canonical:
            body = _seq(repeat(DIGIT, 0, n - 1), "[1-9]")
        return empty_ok, body
    groups: dict[tuple, list[int]] = {}
    # An exhausted bound ("") means the rest of that bound is all zeros.
    lo_d = int(lo[0]) if lo else 0
    hi_d = int(hi[0]) if hi else 0
    for d in range(10):
        if (lo is not None and d < lo_d) or (hi is not None and d > hi_d):
            continue
        next_lo = (lo[1:] if lo else "") if lo is not None and d == lo_d else None
        next_hi = (hi[1:] if hi else "") if hi is not None and d == hi_d else None
        groups.setdefault((next_lo, next_hi), []).append(d)
    options = []
    for (next_lo, next_hi), digits in groups.items():
        rest_empty, rest = _fraction_digits(
            next_lo, lo_strict, next_hi, hi_strict, n - 1, canonical
        )
        enders = [d for d in digits if d != 0] if canonical else digits
        if rest_empty and enders:
            head = _digits(enders)
            options.append(head if rest is None else _seq(head, f"({rest})?"))
        needs_more = digits if not rest_empty else [d for d in digits if d not in enders]
        if rest is not None and needs_more:
            options.append(_seq(_digits(needs_more), rest))
    return empty_ok, alternatives(options) if options else None


def magnitude(
    lo: Decimal | None, lo_strict: bool, hi: Decimal | None, hi_strict: bool,
    max_digits: int, max_fraction: int, required: bool = False,
) -> list[str]:  # fmt: skip
    """Options for unsigned decimals `I(.F)?` within the bounds (lo >= 0); `required`: with
    a non-zero fraction."""
    lo = lo if lo is not None else Decimal(0)
    li, lf = _split(lo)

    def frac(flo: str | None, fs: bool, fhi: str | None, hs: bool) -> str:
        return fraction(flo, fs, fhi, hs, max_fraction, required)

    options = []
    if hi is None:
        options += [
            _seq(o, frac(None, False, None, False)) for o in natural_range(li + 1, None, max_digits)
        ]
        with contextlib.suppress(Unsatisfiable):
            options.append(_seq(literal(str(li)), frac(lf, lo_strict, None, False)))
        return options
    hi_i, hf = _split(hi)
    if li == hi_i:
        try:
            return [_seq(literal(str(li)), frac(lf, lo_strict, hf, hi_strict))]
        except Unsatisfiable:
            return []
    middle = natural_range(li + 1, hi_i - 1, max_digits)
    options += [_seq(o, frac(None, False, None, False)) for o in middle]
    with contextlib.suppress(Unsatisfiable):
        options.append(_seq(literal(str(li)), frac(lf, lo_strict, None, False)))
    with contextlib.suppress(Unsatisfiable):  # e.g. below an exclusive integer maximum
        options.append(_seq(literal(str(hi_i)), frac(None, False, hf, hi_strict)))
    return options


def decimal(
    lo: Decimal | None, lo_strict: bool, hi: Decimal | None, hi_strict: bool,
    max_digits: int, max_fraction: int, fraction_required: bool = False,
) -> str:  # fmt: skip
    """Numbers (no exponent) within the bounds; None means unbounded on that side.
    `fraction_required`: only numbers that are not integers, in canonical form."""
    if lo is not None and hi is not None and (lo > hi or (lo == hi and (lo_strict or hi_strict))):
        raise Unsatisfiable(f"no number between {lo} and {hi}")
    options = []
    if hi is None or hi > 0 or (hi == 0 and not hi_strict):
        # non-negative values: the magnitude is the value itself
        nonneg_lo, nonneg_strict = (lo, lo_strict) if lo is not None and lo >= 0 else (None, False)
        options += magnitude(
            nonneg_lo, nonneg_strict, hi, hi_strict, max_digits, max_fraction, fraction_required
        )
    if lo is None or lo < 0:
        # negative values "-m": m > 0, m >= -hi when hi < 0, m <= -lo
        below_zero = hi is not None and hi < 0
        neg_lo, neg_lo_strict = (-hi, hi_strict) if below_zero else (Decimal(0), True)
        neg_hi = None if lo is None else -lo
        neg = magnitude(
            neg_lo, neg_lo_strict, neg_hi, lo_strict, max_digits, max_fraction, fraction_required
        )
        if neg:
            options.append(_seq('"-"', alternatives(neg)))
    if not options:
        raise Unsatisfiable(f"no number between {lo} and {hi}")
    return alternatives(options)
