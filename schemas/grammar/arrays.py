"""Arrays as GBNF: positional items, bounded lengths, `contains` counts, unique items.

A plain array is its prefix items followed by the rest item repeated. `contains` needs a
count: the items are written by a small automaton whose state is (items so far, matches so
far), one rule per state, where an item either matches the contains schema or (when a
maximum is set) provably does not. `uniqueItems` is exact over finite item sets: the
state is the set of values already used.
"""

from typing import TYPE_CHECKING, Any

from schemas.grammar.errors import EmptySchema, GrammarError, at, nonneg_int
from schemas.grammar.gbnf import alternatives, cat, hint
from schemas.grammar.json_text import same_value
from schemas.grammar.negation import Inexpressible
from schemas.grammar.vocabulary import ANNOTATIONS

if TYPE_CHECKING:
    from schemas.grammar.compiler import _Compiler as Compiler

REPETITION_LIMIT = 1999  # llama.cpp refuses repetition counts above 2,000
STATE_LIMIT = 20000  # rules of one counting automaton


def array(c: "Compiler", schema: dict, path: str) -> str:
    lo = nonneg_int(schema.get("minItems", 0), at(path, "minItems"))
    hi = schema.get("maxItems")
    hi = None if hi is None else nonneg_int(hi, at(path, "maxItems"))
    if hi is not None and hi < lo:
        raise EmptySchema("the schema matches nothing (maxItems < minItems)", path)
    prefix, rest, prefix_key, rest_key = _layout(schema)
    prefix_exprs = []
    for i, sub in enumerate(prefix):
        try:
            prefix_exprs.append(c.visit(sub, at(path, prefix_key, i)))
        except EmptySchema:  # no value fits item i: the array ends before it
            prefix, rest, hi = prefix[:i], False, i if hi is None else min(hi, i)
            break
    if hi is None:
        hi = max(lo, len(prefix) + c.opt.max_items) if rest is not False else len(prefix)
    if hi > REPETITION_LIMIT:
        c.warnings.append(f"maxItems {hi} at {path} capped at {REPETITION_LIMIT}")
        hi = REPETITION_LIMIT
    hi = min(hi, len(prefix)) if rest is False else hi
    if lo > hi:
        raise EmptySchema("the schema matches nothing (too few items allowed)", path)
    layout = _Items(c, prefix, rest, prefix_exprs, rest_key, path)
    counts = _contains_counts(schema, path)
    if counts is not None:
        if schema.get("uniqueItems") is True:
            raise GrammarError("uniqueItems with contains cannot be enforced", path)
        return c.rules.add(
            hint(path, "array"), counted(c, layout, lo, hi, schema["contains"], *counts)
        )
    if schema.get("uniqueItems") is True and hi > 1:
        return c.rules.add(hint(path, "array"), unique(c, layout, lo, hi))
    rest_expr = layout.expr(len(prefix), "any") if rest is not False and hi > len(prefix) else None
    if rest_expr is None:  # nothing may follow the prefix items
        hi = min(hi, len(prefix))
        if lo > hi:
            raise EmptySchema("the schema matches nothing (no value fits the items)", path)
    body = item_sequence(c, prefix_exprs, rest_expr, lo, hi)
    return c.rules.add(hint(path, "array"), body)


def _layout(schema: dict) -> tuple[list, Any, str, str]:
    """(prefix items, the schema of the others, and the keywords they come from)."""
    items = schema.get("items", True)
    if "prefixItems" in schema:
        return list(schema["prefixItems"]), items, "prefixItems", "items"
    if isinstance(items, list):
        return list(items), schema.get("additionalItems", True), "items", "additionalItems"
    return [], items, "items", "items"


def _contains_counts(schema: dict, path: str) -> tuple[int, int | None] | None:
    """(minContains, maxContains) when `contains` constrains anything."""
    if "contains" not in schema:
        return None
    lo = nonneg_int(schema.get("minContains", 1), at(path, "minContains"))
    hi = schema.get("maxContains")
    hi = None if hi is None else nonneg_int(hi, at(path, "maxContains"))
    if hi is not None and hi < lo:
        raise EmptySchema("the schema matches nothing (maxContains < minContains)", path)
    return None if lo == 0 and hi is None else (lo, hi)


class _Items:
    """The grammar of the item at a position: any, matching a schema, or not matching it."""

    def __init__(self, c: "Compiler", prefix, rest, prefix_exprs, rest_key, path) -> None:
        self.c, self.prefix, self.rest, self.path = c, prefix, rest, path
        self.rest_key = rest_key
        self.cache: dict[tuple[int, str], str | None] = {
            (i, "any"): e for i, e in enumerate(prefix_exprs)
        }
        self.extra: dict[str, Any] = {}

    def schema(self, n: int) -> Any:
        return self.prefix[n] if n < len(self.prefix) else self.rest

    def expr(self, n: int, kind: str) -> str | None:
        """GBNF for item n (None: no value fits); kind "any", "match" or "miss"."""
        key = (min(n, len(self.prefix)), kind)
        if key not in self.cache:
            sub = self.schema(n)
            if kind != "any":
                sub = {"allOf": [sub, self.extra[kind]]}
            try:
                where = at(self.path, self.rest_key) if n >= len(self.prefix) else self.path
                self.cache[key] = self.c.visit(sub, where)
            except EmptySchema:
                self.cache[key] = None
        return self.cache[key]


def counted(
    c: "Compiler", items: _Items, lo: int, hi: int, contains: Any, least: int, most: int | None
) -> str:
    """`[` items `]` with lo..hi items, of which least..most match `contains`."""
    items.extra["match"] = contains
    if most is not None:
        try:
            items.extra["miss"] = c.rw.negate(contains)
        except Inexpressible as e:
            raise GrammarError(f"maxContains: {e}", at(items.path, "maxContains")) from e
    top = least if most is None else most  # the count saturates at `least` without a max
    if (top + 1) * (hi + 1) > STATE_LIMIT:
        raise GrammarError("contains with these counts is too large for a grammar", items.path)
    comma = c.punct(",")
    state: dict[tuple[int, int], str | None] = {}
    for n in range(hi, -1, -1):
        sep = comma if n else ""
        for k in range(top + 1):
            options = ['""'] if n >= lo and k >= least else []
            if n < hi:
                moves = []
                if most is None and k == least:
                    moves.append(("any", k))
                else:
                    if most is None or k < most:
                        moves.append(("match", min(k + 1, top)))
                    moves.append(("miss" if most is not None else "any", k))
                for kind, after in moves:
                    expr, rest = items.expr(n, kind), state[(after, n + 1)]
                    if expr is not None and rest is not None:
                        options.append(cat(sep, expr, rest))
            state[(k, n)] = (
                c.rules.add(hint(items.path, "items"), alternatives(options)) if options else None
            )
    if state[(0, 0)] is None:
        raise EmptySchema("the schema matches nothing (contains cannot be met)", items.path)
    return f"{c.punct('[')} {state[(0, 0)]} {c.punct(']')}"


def unique(c: "Compiler", items: _Items, lo: int, hi: int) -> str:
    """`[` items `]` with no value twice, over finite sets of item values."""
    values: list[Any] = []  # every candidate, once
    choices: dict[int, list[tuple[int, str]]] = {}  # position class -> (value index, text)
    for n in range(min(len(items.prefix), hi - 1) + 1):  # a class per position written
        sub = items.schema(n)
        found = _finite_values(c, sub, items.path)
        if found is None:
            raise GrammarError(
                "uniqueItems over items that are not a small finite set cannot be enforced",
                at(items.path, "uniqueItems"),
            )
        row = []
        for v in found:
            index = next((i for i, w in enumerate(values) if same_value(v, w)), None)
            if index is None:
                values.append(v)
                index = len(values) - 1
            row.append((index, c.value_text(v, sub)))
        choices[n] = row
    hi = min(hi, len(values))
    if lo > hi:
        raise EmptySchema("the schema matches nothing (too few distinct values)", items.path)
    comma, memo = c.punct(","), {}

    def after(used: frozenset) -> str | None:
        if used in memo:
            return memo[used]
        if len(memo) > STATE_LIMIT:
            raise GrammarError("uniqueItems over too many values", at(items.path, "uniqueItems"))
        n = len(used)
        options = ['""'] if n >= lo else []
        if n < hi:
            for index, text in choices[min(n, len(items.prefix))]:
                if index not in used and (rest := after(used | {index})) is not None:
                    options.append(cat(comma if n else "", text, rest))
        memo[used] = (
            c.rules.add(hint(items.path, "unique"), alternatives(options)) if options else None
        )
        return memo[used]

    body = after(frozenset())
    if body is None:
        raise EmptySchema("the schema matches nothing (uniqueItems)", items.path)
    return f"{c.punct('[')} {body} {c.punct(']')}"


def _finite_values(c: "Compiler", schema: Any, path: str) -> list | None:
    """The values an item schema allows when they are few, else None."""
    found = c.finite_candidates(schema, path)
    if found is None:
        plain = c.deref_schema(schema, path)
        if not isinstance(plain, dict) or set(plain) - ANNOTATIONS != {"type"}:
            return None
        types = [plain["type"]] if isinstance(plain["type"], str) else list(plain["type"])
        if not set(types) <= {"boolean", "null"}:
            return None
        found = [v for t in types for v in ((True, False) if t == "boolean" else (None,))]
    return [v for v in found if c.validates(v, schema)]


def item_sequence(c: "Compiler", prefix: list[str], rest: str | None, lo: int, hi: int) -> str:
    """`[` items `]` with lo..hi items: prefix items first, then `rest` repeated."""
    comma, p = c.punct(","), len(prefix)
    if p == 0:
        if rest is None or hi == 0:
            return f"{c.punct('[')} {c.punct(']')}"
        body = cat(rest, c.rules.repeat("item", f"{comma} {rest}", max(lo - 1, 0), hi - 1))
        body = body if lo > 0 else f"({body})?"
        return f"{c.punct('[')} {body} {c.punct(']')}"
    # Built from the back: tail is what may follow the first i items.
    tail = (
        c.rules.repeat("item", f"{comma} {rest}", max(lo - p, 0), hi - p)
        if rest is not None and hi > p
        else '""'
    )
    for i in range(min(p, hi) - 1, -1, -1):
        item = cat(comma, prefix[i]) if i > 0 else prefix[i]
        seq = cat(item, tail)
        tail = seq if i < lo else f"({seq})?"
    return f"{c.punct('[')} {tail} {c.punct(']')}".replace(' "" ', " ")
