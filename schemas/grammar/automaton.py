"""String languages as finite automata, for what a regex-to-grammar translation cannot do
alone: two patterns at once, a pattern with a length bound, strings that a pattern must
not match (or that must be none of some words).

A DFA reads code points; its alphabet is a partition of the code points into intervals
fine enough for every character class involved. `emit` writes the language of a DFA,
restricted to lengths lo..hi, as GBNF over the canonical JSON encoding of the characters:
one rule per (state, characters so far), so every string stays bounded.
"""

from dataclasses import dataclass

from schemas.grammar import json_text
from schemas.grammar.gbnf import Rules, alternatives, cat
from schemas.grammar.regex import Alt, Anchor, CharSet, Parser, RegexError, Repeat, Seq, anchored

MAX_CODE = json_text.MAX_CODE_POINT
STATE_LIMIT = 400  # DFA states; beyond, the language is refused
RULE_LIMIT = 40000  # (state, length) rules of one emission
EXPANSION_LIMIT = 2000  # NFA nodes from expanding bounded repetitions


@dataclass
class DFA:
    cuts: list[int]  # interval i is [cuts[i], cuts[i+1]) ; cuts[0] == 0, last == MAX_CODE+1
    moves: list[dict[int, int]]  # state -> {interval: next state}; missing: dead
    accepting: set[int]

    def intervals(self) -> int:
        return len(self.cuts) - 1


# -- construction ---------------------------------------------------------------------------


def from_pattern(pattern: str) -> DFA:
    """The strings that contain a match of `pattern` (JSON Schema's search semantics)."""
    tree = Parser(pattern).parse()
    options = anchored(tree)
    node = options[0] if len(options) == 1 else Alt(options)
    nfa = _NFA()
    start, end = nfa.build(node)
    return nfa.determinize(start, end)


def from_words(words: list[str]) -> DFA:
    """Exactly the given strings."""
    node = Alt([Seq([CharSet([(ord(c), ord(c))]) for c in w]) for w in words]) if words else None
    if node is None:
        return DFA([0, MAX_CODE + 1], [{}], set())
    nfa = _NFA()
    start, end = nfa.build(node)
    return nfa.determinize(start, end)


class _NFA:
    def __init__(self) -> None:
        self.eps: list[list[int]] = []
        self.edges: list[list[tuple[list[tuple[int, int]], int]]] = []

    def state(self) -> int:
        if len(self.eps) > EXPANSION_LIMIT * 4:
            raise RegexError("pattern too large for an automaton")
        self.eps.append([])
        self.edges.append([])
        return len(self.eps) - 1

    def build(self, node) -> tuple[int, int]:
        start, end = self.state(), self.state()
        if isinstance(node, CharSet):
            self.edges[start].append((node.ranges, end))
        elif isinstance(node, Anchor):
            raise RegexError("anchors are only supported at the start or end of the pattern")
        elif isinstance(node, Seq):
            current = start
            for item in node.items:
                a, b = self.build(item)
                self.eps[current].append(a)
                current = b
            self.eps[current].append(end)
        elif isinstance(node, Alt):
            for option in node.options:
                a, b = self.build(option)
                self.eps[start].append(a)
                self.eps[b].append(end)
        elif isinstance(node, Repeat):
            self.repeat(node, start, end)
        else:
            raise RegexError(f"unexpected regex node {node!r}")
        return start, end

    def repeat(self, node: Repeat, start: int, end: int) -> None:
        if node.lo + (node.hi or 0) > EXPANSION_LIMIT:
            raise RegexError("repetition too large for an automaton")
        current = start
        for _ in range(node.lo):
            a, b = self.build(node.node)
            self.eps[current].append(a)
            current = b
        if node.hi is None:
            a, b = self.build(node.node)
            self.eps[current].append(a)
            self.eps[b].append(current)
            self.eps[current].append(end)
            return
        for _ in range(node.hi - node.lo):
            self.eps[current].append(end)
            a, b = self.build(node.node)
            self.eps[current].append(a)
            current = b
        self.eps[current].append(end)

    def closure(self, states: set[int]) -> frozenset[int]:
        todo, seen = list(states), set(states)
        while todo:
            for n in self.eps[todo.pop()]:
                if n not in seen:
                    seen.add(n)
                    todo.append(n)
        return frozenset(seen)

    def determinize(self, start: int, end: int) -> DFA:
        cuts = _cuts([r for edges in self.edges for ranges, _ in edges for r in ranges])
        first = self.closure({start})
        index, order, moves = {first: 0}, [first], []
        while len(moves) < len(order):
            current = order[len(moves)]
            by_interval: dict[int, set[int]] = {}
            for s in current:
                for ranges, target in self.edges[s]:
                    for i in _covered(cuts, ranges):
                        by_interval.setdefault(i, set()).add(target)
            row = {}
            for i, targets in by_interval.items():
                nxt = self.closure(targets)
                if nxt not in index:
                    if len(order) >= STATE_LIMIT:
                        raise RegexError("pattern too large for an automaton")
                    index[nxt] = len(order)
                    order.append(nxt)
                row[i] = index[nxt]
            moves.append(row)
        accepting = {i for i, s in enumerate(order) if end in s}
        return DFA(cuts, moves, accepting)


def _cuts(ranges: list[tuple[int, int]]) -> list[int]:
    points = {0, MAX_CODE + 1}
    for lo, hi in ranges:
        points.update((lo, hi + 1))
    return sorted(points)


def _covered(cuts: list[int], ranges: list[tuple[int, int]]) -> list[int]:
    """The intervals (of a partition that refines `ranges`) inside `ranges`."""
    from bisect import bisect_left

    out = []
    for lo, hi in ranges:
        i = bisect_left(cuts, lo)
        while i < len(cuts) - 1 and cuts[i] <= hi:
            out.append(i)
            i += 1
    return out


# -- operations -------------------------------------------------------------------------------


def refine(dfa: DFA, cuts: list[int]) -> DFA:
    """The same DFA over a finer partition."""
    old = dfa.cuts
    mapping = [_covered(cuts, [(old[i], old[i + 1] - 1)]) for i in range(dfa.intervals())]
    moves = [{j: t for i, t in row.items() for j in mapping[i]} for row in dfa.moves]
    return DFA(cuts, moves, set(dfa.accepting))


def product(a: DFA, b: DFA, accept) -> DFA:
    """The product automaton, accepting where `accept(in a, in b)`. Missing moves go to a
    dead state (-1), so that complement-like acceptance works."""
    cuts = sorted(set(a.cuts) | set(b.cuts))
    a, b = refine(a, cuts), refine(b, cuts)
    index, order, moves = {(0, 0): 0}, [(0, 0)], []
    while len(moves) < len(order):
        x, y = order[len(moves)]
        row = {}
        for i in range(len(cuts) - 1):
            nx = a.moves[x].get(i, -1) if x >= 0 else -1
            ny = b.moves[y].get(i, -1) if y >= 0 else -1
            if (nx, ny) not in index:
                if len(order) >= STATE_LIMIT:
                    raise RegexError("patterns too large for an automaton together")
                index[(nx, ny)] = len(order)
                order.append((nx, ny))
            row[i] = index[(nx, ny)]
        moves.append(row)
    accepting = {k for k, (x, y) in enumerate(order) if accept(x in a.accepting, y in b.accepting)}
    return DFA(cuts, moves, accepting)


def intersect(a: DFA, b: DFA) -> DFA:
    return product(a, b, lambda x, y: x and y)


def minus(a: DFA, b: DFA) -> DFA:
    return product(a, b, lambda x, y: x and not y)


def everything() -> DFA:
    return DFA([0, MAX_CODE + 1], [{0: 0}], {0})


def minimize(dfa: DFA) -> DFA:
    """The equivalent DFA with the fewest states (Moore's partition refinement)."""
    n = dfa.intervals()
    block = [1 if s in dfa.accepting else 0 for s in range(len(dfa.moves))]
    while True:
        signature = {}
        new = []
        for s, row in enumerate(dfa.moves):
            key = (block[s], tuple(block[row[i]] if i in row else -1 for i in range(n)))
            new.append(signature.setdefault(key, len(signature)))
        if len(signature) == len(set(block)):
            break
        block = new
    block = new
    order = {}
    for s in [0, *range(len(dfa.moves))]:
        order.setdefault(block[s], len(order))  # the start state stays state 0
    moves: list[dict[int, int]] = [{} for _ in order]
    for s, row in enumerate(dfa.moves):
        moves[order[block[s]]] = {i: order[block[t]] for i, t in row.items()}
    accepting = {order[block[s]] for s in dfa.accepting}
    return DFA(dfa.cuts, moves, accepting)


# -- emission ---------------------------------------------------------------------------------


def _live(dfa: DFA) -> set[int]:
    """States from which an accepting state can be reached."""
    live = set(dfa.accepting)
    changed = True
    while changed:
        changed = False
        for s, row in enumerate(dfa.moves):
            if s not in live and any(t in live for t in row.values()):
                live.add(s)
                changed = True
    return live


def emit(dfa: DFA, lo: int, hi: int, rules: Rules, hint: str) -> str | None:
    """GBNF for the JSON-encoded strings of the DFA's language with lo..hi characters;
    None when there is none."""
    dfa = minimize(dfa)
    live = _live(dfa)
    if 0 not in live:
        return None
    reach: list[set[int]] = [{0}]
    for _ in range(hi):
        nxt = {t for s in reach[-1] for t in dfa.moves[s].values() if t in live}
        reach.append(nxt)
    if sum(len(r) for r in reach) > RULE_LIMIT:
        raise RegexError("pattern with this length bound is too large for a grammar")
    classes: dict[tuple[int, int], str] = {}
    names: dict[tuple[int, int], str | None] = {}
    for n in range(hi, -1, -1):
        for s in reach[n]:
            options = ['""'] if s in dfa.accepting and n >= lo else []
            if n < hi:
                targets: dict[int, list[int]] = {}
                for i, t in dfa.moves[s].items():
                    if names.get((t, n + 1)) is not None:
                        targets.setdefault(t, []).append(i)
                for t, intervals in targets.items():
                    key = (s, t)
                    if key not in classes:
                        chars = _chars(dfa, intervals)
                        named = len(chars) > 16  # a long class is written once
                        classes[key] = rules.add(f"{hint}-class", chars) if named else chars
                    if classes[key]:
                        options.append(cat(classes[key], names[(t, n + 1)]))
            if not options:
                names[(s, n)] = None
            elif options == ['""']:
                names[(s, n)] = '""'
            else:
                names[(s, n)] = rules.add(hint, alternatives(options))
    return names.get((0, 0))


def _chars(dfa: DFA, intervals: list[int]) -> str:
    """The canonical JSON encoding of the characters of some intervals ("" for none: a
    lone surrogate is no character)."""
    ranges = [(dfa.cuts[i], dfa.cuts[i + 1] - 1) for i in sorted(intervals)]
    try:
        return json_text.chars(ranges)
    except ValueError:
        return ""
