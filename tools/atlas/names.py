"""Invented names that no two worlds share.

A name encodes (seed, slot) through a keyed bijection into four syllables, so two different
(seed, slot) pairs can never give the same name: worlds built from different seeds are
disjoint by construction, not by luck. Every syllable ends in its only vowel, so a name
splits into syllables in exactly one way and distinct syllable sequences stay distinct
strings.
"""

import hashlib

from schemas.errors import WaypointError

ONSETS = (
    "b", "d", "f", "g", "h", "k", "l", "m", "n", "p",
    "r", "s", "t", "v", "z", "br", "dr", "kr", "tr", "sh",
)  # fmt: skip
VOWELS = "aeiou"
SYLLABLES = tuple(o + v for o in ONSETS for v in VOWELS)  # 100 syllables
NAME_SYLLABLES = 4
SLOTS_PER_WORLD = 1000  # entities one world may name
_HALF = 10_000  # the code space is 100**4 = _HALF**2, split in two halves for the Feistel rounds
MAX_SEED = _HALF * _HALF // SLOTS_PER_WORLD - 1
_ROUNDS = 4


def check_seed(seed: int) -> int:
    """`seed`, if it names an atlas world; else one clear error (a seed reaches here from
    the command line, a request-set name or a pipeline config)."""
    if not 0 <= seed <= MAX_SEED:
        raise WaypointError(f"an atlas world seed is a whole number in 0..{MAX_SEED}, not {seed}")
    return seed


def _round(value: int, key: int) -> int:
    digest = hashlib.blake2b(f"{key}:{value}".encode(), digest_size=8).digest()
    return int.from_bytes(digest, "big") % _HALF


def _scramble(code: int) -> int:
    """A bijection of [0, _HALF**2): a balanced Feistel network, invertible round by round."""
    left, right = divmod(code, _HALF)
    for key in range(_ROUNDS):
        left, right = right, (left + _round(right, key)) % _HALF
    return left * _HALF + right


def coded_name(seed: int, slot: int) -> str:
    """The name of slot `slot` in world `seed`; unique over all (seed, slot) pairs."""
    if not 0 <= seed <= MAX_SEED:
        raise ValueError(f"seed must be in 0..{MAX_SEED}")
    if not 0 <= slot < SLOTS_PER_WORLD:
        raise ValueError(f"slot must be in 0..{SLOTS_PER_WORLD - 1}")
    code = _scramble(seed * SLOTS_PER_WORLD + slot)
    digits = []
    for _ in range(NAME_SYLLABLES):
        code, digit = divmod(code, len(SYLLABLES))
        digits.append(SYLLABLES[digit])
    return "".join(digits).capitalize()
