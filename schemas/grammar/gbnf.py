"""GBNF text: literals, character classes, and a table of named rules.

llama.cpp's GBNF: rule names are letters, digits and dashes; literals are double-quoted
with C-like escapes; character classes are `[...]` with ranges and `^` for negation;
repetition is `x{m,n}`, `*`, `+`, `?`.
"""

import re

_NAME_UNSAFE = re.compile(r"[^a-zA-Z0-9-]+")
_LITERAL_ESCAPES = {'"': '\\"', "\\": "\\\\", "\n": "\\n", "\r": "\\r", "\t": "\\t"}
_CLASS_BACKSLASHED = set("]\\[")  # llama.cpp knows only these escapes (and \x..) in a class
_CLASS_HEX = set("-^")


def _escape_char(ch: str, special: set[str] | dict[str, str]) -> str:
    if ch in _LITERAL_ESCAPES:
        return _LITERAL_ESCAPES[ch]
    if ch in special:
        return "\\" + ch
    code = ord(ch)
    if code < 0x20 or code == 0x7F or ch in _CLASS_HEX:
        return f"\\x{code:02X}"
    return ch


_LITERAL_TABLE = {
    c: _escape_char(chr(c), _LITERAL_ESCAPES) for c in [*range(0x20), 0x22, 0x5C, 0x7F]
}


def literal(text: str) -> str:
    """A GBNF literal matching `text` exactly."""
    return '"' + text.translate(_LITERAL_TABLE) + '"'


def char_class(ranges: list[tuple[int, int]], negated: bool = False) -> str:
    """A GBNF character class over inclusive code point ranges."""
    parts = []
    for lo, hi in ranges:
        first = _escape_char(chr(lo), _CLASS_BACKSLASHED)
        if lo == hi:
            parts.append(first)
        else:
            parts.append(f"{first}-{_escape_char(chr(hi), _CLASS_BACKSLASHED)}")
    return "[" + ("^" if negated else "") + "".join(parts) + "]"


def normalize_ranges(ranges: list[tuple[int, int]]) -> list[tuple[int, int]]:
    """Sort and merge overlapping or adjacent ranges."""
    merged: list[tuple[int, int]] = []
    for lo, hi in sorted(ranges):
        if merged and lo <= merged[-1][1] + 1:
            merged[-1] = (merged[-1][0], max(merged[-1][1], hi))
        else:
            merged.append((lo, hi))
    return merged


def subtract_ranges(
    ranges: list[tuple[int, int]], removed: list[tuple[int, int]]
) -> list[tuple[int, int]]:
    """`ranges` minus `removed`, both as inclusive code point ranges."""
    out = []
    for lo, hi in normalize_ranges(ranges):
        pieces = [(lo, hi)]
        for rlo, rhi in removed:
            next_pieces = []
            for plo, phi in pieces:
                if rhi < plo or rlo > phi:
                    next_pieces.append((plo, phi))
                    continue
                if plo < rlo:
                    next_pieces.append((plo, rlo - 1))
                if rhi < phi:
                    next_pieces.append((rhi + 1, phi))
            pieces = next_pieces
        out.extend(pieces)
    return out


def alternatives(options: list[str]) -> str:
    """`a | b | c`, parenthesised when there is more than one option."""
    unique = list(dict.fromkeys(options))
    if len(unique) == 1:
        return unique[0]
    return "(" + " | ".join(unique) + ")"


def cat(*parts: str) -> str:
    """A sequence, without the empty parts."""
    return " ".join(p for p in parts if p and p != '""') or '""'


def hint(path: str, kind: str) -> str:
    """A readable rule name from the last named part of a JSON pointer."""
    names = [p for p in path.split("/") if p and p != "#" and not p.isdigit()]
    skip = {"properties", "items", "anyOf", "oneOf", "allOf", "$defs", "definitions", "prefixItems"}
    named = [p for p in names if p not in skip]
    return f"{named[-1]}-{kind}" if named else kind


def repeat(expr: str, lo: int, hi: int | None) -> str:
    """`expr` repeated lo..hi times (hi None: unbounded)."""
    if hi is not None and hi == lo:
        if lo == 0:
            return '""'
        return expr if lo == 1 else f"{expr}{{{lo}}}"
    if lo == 0 and hi == 1:
        return f"{expr}?"
    if hi is None:
        return f"{expr}*" if lo == 0 else (f"{expr}+" if lo == 1 else f"{expr}{{{lo},}}")
    return f"{expr}{{{lo},{hi}}}"


class Rules:
    """Named GBNF rules in definition order; identical bodies share one name."""

    def __init__(self) -> None:
        self._bodies: dict[str, str] = {}
        self._by_body: dict[str, str] = {}
        self._next: dict[str, int] = {}  # per base name: the next suffix to try

    def reserve(self, hint: str) -> str:
        """A fresh rule name, to be defined later (needed for recursion)."""
        base = _NAME_UNSAFE.sub("-", hint).strip("-").lower() or "r"
        if base[0].isdigit():  # a name of digits alone would read as a repetition count
            base = "r-" + base
        n = self._next.get(base, 1)
        name = base if n == 1 else f"{base}-{n}"
        while name in self._bodies:
            n += 1
            name = f"{base}-{n}"
        self._next[base] = n + 1
        self._bodies[name] = ""
        return name

    def define(self, name: str, body: str) -> str:
        self._bodies[name] = body
        self._by_body.setdefault(body, name)
        return name

    def add(self, hint: str, body: str) -> str:
        """A rule for `body`; reuses an existing rule with the same body."""
        if body in self._by_body:
            return self._by_body[body]
        return self.define(self.reserve(hint), body)

    def repeat(self, hint: str, expr: str, lo: int, hi: int | None) -> str:
        """`expr` lo..hi times. llama.cpp refuses to repeat (even make optional) a group of
        many symbols that holds repetitions, so anything but a single symbol is named first
        (which also keeps the grammar small)."""
        if not is_single_symbol(expr) and not lo == hi == 1:
            expr = self.add(hint, expr)
        return repeat(expr, lo, hi)

    def has(self, name: str) -> bool:
        return name in self._bodies

    def discard(self, name: str) -> None:
        """Forget a reserved name whose definition failed."""
        body = self._bodies.pop(name, None)
        if body is not None and self._by_body.get(body) == name:
            del self._by_body[body]

    def render(self, root: str = "root") -> str:
        """The rules reachable from `root`, in definition order (a failed expansion or a
        shared suffix may leave rules nothing uses)."""
        reachable, todo = set(), [root]
        while todo:
            name = todo.pop()
            if name in reachable:
                continue
            reachable.add(name)
            todo.extend(n for n in references(self._bodies[name]) if n in self._bodies)
        return "".join(f"{n} ::= {b}\n" for n, b in self._bodies.items() if n in reachable)


_SINGLE = re.compile(r'[a-zA-Z0-9-]+|\[(?:[^\]\\]|\\.)*\]|"(?:[^"\\]|\\(?:x[0-9a-fA-F]{2}|.))"')


def is_single_symbol(expr: str) -> bool:
    """A rule name, a character class, or a one-character literal."""
    return _SINGLE.fullmatch(expr.strip("()")) is not None if expr.count("(") <= 1 else False


_TOKEN = re.compile(r'"(?:[^"\\]|\\.)*"|\[(?:[^\]\\]|\\.)*\]|[a-zA-Z0-9-]+')


def references(body: str) -> list[str]:
    """Rule names used in a rule body (skipping literals and character classes)."""
    return [t for t in _TOKEN.findall(body) if t[0] not in '"[' and not t.isdigit()]
