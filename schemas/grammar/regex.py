"""ECMA-262 regular expressions (the subset a context-free grammar can express) to GBNF.

JSON Schema patterns are unanchored: `abc` matches any string containing `abc`. Unbounded
quantifiers are capped so that every string stays finite. Lookaround, backreferences,
word boundaries and inline flags cannot be expressed and are refused.
"""

from dataclasses import dataclass

from schemas.grammar import json_text
from schemas.grammar.gbnf import Rules, alternatives, literal, subtract_ranges

ANY = [(0, json_text.MAX_CODE_POINT)]
LINE_TERMINATORS = [(0x0A, 0x0A), (0x0D, 0x0D), (0x2028, 0x2029)]
DOT = [(0x00, 0x09), (0x0B, 0x0C), (0x0E, 0x2027), (0x202A, json_text.MAX_CODE_POINT)]
DIGIT = [(0x30, 0x39)]
WORD = [(0x30, 0x39), (0x41, 0x5A), (0x5F, 0x5F), (0x61, 0x7A)]
SPACE = [
    (0x09, 0x0D), (0x20, 0x20), (0xA0, 0xA0), (0x1680, 0x1680), (0x2000, 0x200A),
    (0x2028, 0x2029), (0x202F, 0x202F), (0x205F, 0x205F), (0x3000, 0x3000), (0xFEFF, 0xFEFF),
]  # fmt: skip
CLASS_ESCAPES = {"d": DIGIT, "w": WORD, "s": SPACE}
CHAR_ESCAPES = {"n": "\n", "r": "\r", "t": "\t", "f": "\f", "v": "\v", "0": "\0"}


class RegexError(ValueError):
    pass


def complement(ranges: list[tuple[int, int]]) -> list[tuple[int, int]]:
    return subtract_ranges(ANY, ranges)


# --- AST -------------------------------------------------------------------------------


@dataclass
class CharSet:
    ranges: list[tuple[int, int]]


@dataclass
class Seq:
    items: list


@dataclass
class Alt:
    options: list


@dataclass
class Repeat:
    node: object
    lo: int
    hi: int | None


@dataclass
class Anchor:
    kind: str  # "^" or "$"


# --- parser ----------------------------------------------------------------------------


class Parser:
    def __init__(self, pattern: str) -> None:
        self.s = pattern
        self.i = 0

    def error(self, what: str) -> RegexError:
        return RegexError(f"{what} at position {self.i} of pattern {self.s!r}")

    def peek(self) -> str | None:
        return self.s[self.i] if self.i < len(self.s) else None

    def take(self) -> str:
        ch = self.s[self.i]
        self.i += 1
        return ch

    def parse(self):
        node = self.alternation()
        if self.i != len(self.s):
            raise self.error("unbalanced ')'")
        return node

    def alternation(self):
        options = [self.sequence()]
        while self.peek() == "|":
            self.take()
            options.append(self.sequence())
        return options[0] if len(options) == 1 else Alt(options)

    def sequence(self) -> Seq:
        items = []
        while self.peek() is not None and self.peek() not in "|)":
            atom = self.atom()
            items.append(self.quantified(atom))
        return Seq(items)

    def quantified(self, atom):
        ch = self.peek()
        if ch in ("*", "+", "?"):
            self.take()
            lo, hi = {"*": (0, None), "+": (1, None), "?": (0, 1)}[ch]
        elif ch == "{" and self._looks_like_braces():
            lo, hi = self.braces()
        else:
            return atom
        if isinstance(atom, Anchor):
            raise self.error("quantified anchor")
        if self.peek() == "?":  # lazy: same language
            self.take()
        if self.peek() in ("*", "+", "?") or (self.peek() == "{" and self._looks_like_braces()):
            raise self.error("nested quantifier")
        return Repeat(atom, lo, hi)

    def _looks_like_braces(self) -> bool:
        end = self.s.find("}", self.i)
        body = self.s[self.i + 1 : end] if end > 0 else ""
        return bool(body) and all(c.isdigit() or c == "," for c in body) and body[0].isdigit()

    def braces(self) -> tuple[int, int | None]:
        end = self.s.index("}", self.i)
        body = self.s[self.i + 1 : end]
        self.i = end + 1
        if "," not in body:
            return int(body), int(body)
        lo, hi = body.split(",", 1)
        lo_n, hi_n = int(lo), (int(hi) if hi else None)
        if hi_n is not None and hi_n < lo_n:
            raise self.error("quantifier range out of order")
        return lo_n, hi_n

    def atom(self):
        ch = self.take()
        if ch == "(":
            return self.group()
        if ch == "[":
            return CharSet(self.char_class())
        if ch == ".":
            return CharSet(DOT)
        if ch in "^$":
            return Anchor(ch)
        if ch == "\\":
            return CharSet(self.escape(in_class=False))
        if ch in "*+?":
            raise self.error("nothing to repeat")
        if ch == "{" and self._looks_like_braces():
            raise self.error("nothing to repeat")
        return CharSet([(ord(ch), ord(ch))])

    def group(self):
        if self.s.startswith("?:", self.i):
            self.i += 2
        elif (
            self.s.startswith("?<", self.i) and self.s[self.i + 2 : self.i + 3] not in ("=", "!")
        ) or self.s.startswith("?P<", self.i):
            self.i = self.s.index(">", self.i) + 1
        elif self.peek() == "?":
            raise self.error("lookaround or inline flags cannot be expressed in a grammar")
        node = self.alternation()
        if self.peek() != ")":
            raise self.error("missing ')'")
        self.take()
        return node

    def char_class(self) -> list[tuple[int, int]]:
        negated = self.peek() == "^"
        if negated:
            self.take()
        ranges: list[tuple[int, int]] = []
        first = True
        while True:
            if self.peek() is None:
                raise self.error("missing ']'")
            ch = self.take()
            if ch == "]" and not first:
                break
            first = False
            if ch == "\\":
                item = self.escape(in_class=True)
            elif ch == "[" and self.peek() == ":":
                raise self.error("POSIX classes are not ECMA regex")
            else:
                item = [(ord(ch), ord(ch))]
            if self.peek() == "-" and self.s[self.i + 1 : self.i + 2] not in ("]", ""):
                if len(item) != 1 or item[0][0] != item[0][1]:
                    ranges.extend(item)
                    continue
                self.take()
                end_ch = self.take()
                end = self.escape(in_class=True) if end_ch == "\\" else [(ord(end_ch),) * 2]
                if len(end) != 1 or end[0][0] != end[0][1] or end[0][0] < item[0][0]:
                    raise self.error("bad character range")
                ranges.append((item[0][0], end[0][0]))
            else:
                ranges.extend(item)
        return complement(ranges) if negated else ranges

    def escape(self, in_class: bool) -> list[tuple[int, int]]:
        if self.peek() is None:
            raise self.error("trailing backslash")
        ch = self.take()
        if ch.lower() in CLASS_ESCAPES:
            ranges = CLASS_ESCAPES[ch.lower()]
            return complement(ranges) if ch.isupper() else ranges
        if ch in CHAR_ESCAPES and not (ch == "0" and (self.peek() or "").isdigit()):
            code = ord(CHAR_ESCAPES[ch])
        elif ch == "b" and in_class:
            code = 0x08
        elif ch in "bB":
            raise self.error("word boundaries cannot be expressed in a grammar")
        elif ch.isdigit():
            raise self.error("backreferences cannot be expressed in a grammar")
        elif ch == "x":
            code = self.hex_digits(2)
        elif ch == "u" and self.peek() == "{":
            end = self.s.index("}", self.i)
            code = int(self.s[self.i + 1 : end], 16)
            self.i = end + 1
        elif ch == "u":
            code = self.hex_digits(4)
        elif ch == "c":
            code = ord(self.take()) % 32
        elif ch in "pPk":
            raise self.error(f"\\{ch} escapes are not supported")
        else:
            code = ord(ch)
        return [(code, code)]

    def hex_digits(self, n: int) -> int:
        text = self.s[self.i : self.i + n]
        if len(text) != n or any(c not in "0123456789abcdefABCDEF" for c in text):
            raise self.error("bad hex escape")
        self.i += n
        return int(text, 16)


# --- anchors and emission --------------------------------------------------------------


def anchored(node) -> list[Seq]:
    """Top-level alternatives with implicit `.*` where an anchor is missing."""
    options = node.options if isinstance(node, Alt) else [node]
    out = []
    for opt in options:
        items = list(opt.items) if isinstance(opt, Seq) else [opt]
        start = bool(items) and isinstance(items[0], Anchor) and items[0].kind == "^"
        items = items[1:] if start else items
        end = bool(items) and isinstance(items[-1], Anchor) and items[-1].kind == "$"
        items = items[:-1] if end else items
        if not start:
            items.insert(0, Repeat(CharSet(ANY), 0, None))
        if not end:
            items.append(Repeat(CharSet(ANY), 0, None))
        out.append(Seq(items))
    return out


def length_range(node) -> tuple[int, int | None]:
    """Shortest and longest string the node matches (None: unbounded)."""
    if isinstance(node, CharSet):
        return 1, 1
    if isinstance(node, Anchor):
        return 0, 0
    if isinstance(node, Seq):
        lo, hi = 0, 0
        for item in node.items:
            a, b = length_range(item)
            lo += a
            hi = None if hi is None or b is None else hi + b
        return lo, hi
    if isinstance(node, Alt):
        ranges = [length_range(o) for o in node.options]
        his = [b for _, b in ranges]
        return min(a for a, _ in ranges), None if None in his else max(his)
    a, b = length_range(node.node)
    hi = None if node.hi is None or b is None else b * node.hi
    return a * node.lo, hi


class _Emitter:
    def __init__(self, cap: int, rules: Rules) -> None:
        self.cap = cap
        self.rules = rules

    def emit(self, node) -> str:
        if isinstance(node, CharSet):
            if not node.ranges:
                raise RegexError("empty character class matches nothing")
            return json_text.chars(node.ranges)
        if isinstance(node, Anchor):
            raise RegexError("anchors are only supported at the start or end of the pattern")
        if isinstance(node, Alt):
            return alternatives([self.emit(o) for o in node.options])
        if isinstance(node, Repeat):
            hi = node.hi if node.hi is not None else max(node.lo, self.cap)
            return self.rules.repeat("pattern-part", self.emit(node.node), node.lo, hi)
        return self.seq(node)

    def seq(self, node: Seq) -> str:
        parts: list[str] = []
        run = ""
        for item in node.items:
            if isinstance(item, CharSet) and len(item.ranges) == 1 and _single(item.ranges[0]):
                run += json_text.encode(chr(item.ranges[0][0]))
                continue
            if run:
                parts.append(literal(run))
                run = ""
            parts.append(self.emit(item))
        if run:
            parts.append(literal(run))
        return " ".join(parts) if parts else '""'


def _single(r: tuple[int, int]) -> bool:
    return r[0] == r[1] and not (0xD800 <= r[0] <= 0xDFFF)


@dataclass
class CompiledPattern:
    expr: str  # GBNF for the string content, without the quotes
    min_length: int
    max_length: int | None  # None: only bounded by the cap on unbounded quantifiers


def compile_pattern(pattern: str, cap: int, rules: Rules) -> CompiledPattern:
    """GBNF for the JSON-encoded content of strings that `pattern` matches (search semantics)."""
    tree = Parser(pattern).parse()
    options = anchored(tree)
    node = options[0] if len(options) == 1 else Alt(options)
    lo, hi = length_range(node)
    return CompiledPattern(_Emitter(cap, rules).emit(node), lo, hi)
