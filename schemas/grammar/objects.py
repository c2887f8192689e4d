"""Objects as GBNF: declared properties in order, then the extra keys the schema allows.

Optional properties can be skipped; extra keys (additionalProperties, patternProperties,
propertyNames) never repeat a declared name. min/maxProperties over optional properties
need a count: the members are then written by a small automaton whose state is (the next
declared property, members so far).
"""

from json.encoder import encode_basestring
from typing import TYPE_CHECKING, Any

from schemas.grammar import automaton
from schemas.grammar.errors import EmptySchema, GrammarError, at, nonneg_int
from schemas.grammar.exclusion import not_strings
from schemas.grammar.gbnf import alternatives, cat, hint, literal, repeat
from schemas.grammar.merge import search
from schemas.grammar.negation import intersection
from schemas.grammar.regex import RegexError

if TYPE_CHECKING:
    from schemas.grammar.compiler import _Compiler as Compiler

PATTERN_LIMIT = 4  # patternProperties classed together (2**n key classes)
STATE_LIMIT = 20000  # rules of one counting automaton
Slot = tuple[str, bool]  # (GBNF of `"key":value`, required)


def object_(c: "Compiler", schema: dict, path: str) -> str:
    props: dict[str, Any] = dict(schema.get("properties", {}))
    required = list(dict.fromkeys(schema.get("required", [])))
    additional = schema.get("additionalProperties", not c.closed)
    patterns = schema.get("patternProperties", {})
    for name in required:  # a required name without a declared schema
        if name not in props:
            props[name] = _pattern_schema(name, patterns, additional)
    names_schema = schema.get("propertyNames", True)
    slots = _slots(c, props, patterns, names_schema, required, path)
    extra = None if names_schema is False else _extra(c, schema, props, additional, path)
    n_req = sum(1 for _, req in slots if req)
    n_opt = len(slots) - n_req
    lo = nonneg_int(schema.get("minProperties", 0), at(path, "minProperties"))
    hi = schema.get("maxProperties")
    hi = None if hi is None else nonneg_int(hi, at(path, "maxProperties"))
    extra_min = schema.get("x-extra-min", 0)
    cap = c.opt.max_properties if extra else 0
    if extra_min > cap:
        raise EmptySchema("the schema matches nothing (an extra key is needed)", path)
    if lo > n_req or (hi is not None and hi < n_req + n_opt + cap):
        body = counted(c, slots, extra, lo, hi, cap, extra_min, path)
    else:
        body = property_sequence(c, slots, extra, extra_min, cap)
    return c.rules.add(hint(path, "object"), body)


def _slots(
    c: "Compiler", props: dict, patterns: dict, names_schema: Any, required: list, path: str
) -> list[Slot]:
    slots = []
    for name in props:
        # a declared name that a pattern matches must meet that pattern's schema too
        sub = intersection([props[name], *(v for p, v in patterns.items() if search(p, name))])
        allowed = names_schema is True or c.validates(name, names_schema)
        if sub is False or not allowed:
            if name in required:
                raise EmptySchema(f"the schema matches nothing (required '{name}')", path)
            continue
        try:
            value = c.visit(sub, at(path, "properties", name))
        except EmptySchema:
            if name in required:
                raise
            continue  # a property no value can satisfy cannot be present
        key = literal(encode_basestring(name))
        slots.append((f"{key} {c.punct(':')} {value}", name in required))
    return slots


def _extra(c: "Compiler", schema: dict, props: dict, additional: Any, path: str) -> str | None:
    """One extra member: a key the schema does not declare, and its value."""
    colon = c.punct(":")
    if schema.get("patternProperties"):
        return _pattern_members(c, schema, props, additional, path)
    if additional is False:
        return None
    taken = [*props, *schema.get("x-extra-exclude", [])]
    names_schema = schema.get("propertyNames", True)
    if names_schema is not True and names_schema != {}:
        parts = [{"type": "string"}, names_schema] + ([{"not": {"enum": taken}}] if taken else [])
        key = c.visit({"allOf": parts}, at(path, "propertyNames"))
    else:
        body = not_strings(taken, 0, c.opt.max_string_length, c.canonical_char())
        key = c.rules.add(hint(path, "key"), f'"\\"" {body} "\\""')
    try:
        value = c.visit(additional, at(path, "additionalProperties"))
    except EmptySchema:
        return None
    return c.rules.add(hint(path, "extra"), f"{key} {colon} {value}")


def _pattern_members(
    c: "Compiler", schema: dict, props: dict, additional: Any, path: str
) -> str | None:
    """Extra members under patternProperties: a key is classed by the patterns it matches
    (its value meets all their schemas) or matches none (additionalProperties); each class
    of keys is an automaton, so classes never overlap and declared names stay out."""
    patterns = list(schema["patternProperties"].items())
    where = at(path, "patternProperties")
    if len(patterns) > PATTERN_LIMIT:
        raise GrammarError(f"more than {PATTERN_LIMIT} patternProperties", where)
    if schema.get("propertyNames", True) not in (True, {}):
        raise GrammarError("patternProperties with propertyNames cannot be enforced", where)
    colon, options = c.punct(":"), []
    try:
        keys = automaton.minus(
            automaton.everything(),
            automaton.from_words([*props, *schema.get("x-extra-exclude", [])]),
        )
        dfas = [automaton.from_pattern(p) for p, _ in patterns]
        for mask in range(2 ** len(patterns)):
            matched = [sub for i, (_, sub) in enumerate(patterns) if mask >> i & 1]
            value_schema = intersection(matched) if matched else additional
            if value_schema is False:
                continue
            key = keys
            for i, dfa in enumerate(dfas):
                key = automaton.intersect(key, dfa) if mask >> i & 1 else automaton.minus(key, dfa)
            body = automaton.emit(key, 0, c.opt.max_string_length, c.rules, hint(path, "key"))
            if body is None:
                continue
            try:
                value = c.visit(value_schema, where)
            except EmptySchema:
                continue
            options.append(f'"\\"" {body} "\\"" {colon} {value}')
    except RegexError as e:
        raise GrammarError(f"patternProperties: {e}", where) from e
    return c.rules.add(hint(path, "extra"), alternatives(options)) if options else None


def property_sequence(c: "Compiler", slots: list[Slot], extra: str | None, lo: int, hi: int) -> str:
    """Declared properties in order (optional ones skippable), then lo..hi extra keys."""
    comma = c.punct(",")
    # after[i]: the rest when something was already written; first[i]: when nothing was.
    if extra and hi > 0:
        after = c.rules.repeat("member", f"{comma} {extra}", lo, hi)
        first_lo = max(lo - 1, 0)
        first = f"{extra} {c.rules.repeat('member', f'{comma} {extra}', first_lo, hi - 1)}"
        first = first if lo > 0 else f"({first})?"
    else:
        after, first = '""', '""'
    for kv, req in reversed(slots):
        if req:
            after, first = cat(comma, kv, after), cat(kv, after)
            continue
        # An optional slot uses what follows twice: named, or the text would double.
        after = c.rules.add("props", after) if after != '""' else after
        rest = c.rules.add("props", first) if first != '""' else first
        with_slot, first_slot = cat(comma, kv, after), cat(kv, after)
        after = f"({with_slot} | {after})" if after != '""' else f"({with_slot})?"
        first = f"({first_slot} | {rest})" if rest != '""' else f"({first_slot})?"
    inner = "" if first == '""' else f" {first}"
    return f"{c.punct('{')}{inner} {c.punct('}')}"


def counted(
    c: "Compiler", slots: list[Slot], extra: str | None, lo: int, hi: int | None, cap: int,
    extra_min: int, path: str,
) -> str:  # fmt: skip
    """Members with lo..hi of them in all: state (next slot, members so far)."""
    top = hi if hi is not None else max(lo, 1)  # without a max the count saturates
    if (len(slots) + 1) * (top + 1) > STATE_LIMIT:
        raise GrammarError("min/maxProperties too large for a grammar", path)
    comma = c.punct(",")
    state: dict[tuple[int, int], str | None] = {}
    for k in range(top + 1):
        state[(len(slots), k)] = _extras(c, extra, k, lo, hi, cap, extra_min, comma)
    for i in range(len(slots) - 1, -1, -1):
        kv, req = slots[i]
        for k in range(top + 1):
            options = []
            nxt = min(k + 1, top) if hi is None else k + 1
            if nxt <= top and (rest := state[(i + 1, nxt)]) is not None:
                options.append(cat(comma if k else "", kv, rest))
            if not req and (skip := state[(i + 1, k)]) is not None:
                options.append(skip)
            body = alternatives(options) if options else None
            state[(i, k)] = None if body is None else c.rules.add(hint(path, "members"), body)
    if state[(0, 0)] is None:
        raise EmptySchema("the schema matches nothing (property count bounds)", path)
    inner = "" if state[(0, 0)] == '""' else f" {state[(0, 0)]}"
    return f"{c.punct('{')}{inner} {c.punct('}')}"


def _extras(
    c: "Compiler", extra: str | None, k: int, lo: int, hi: int | None, cap: int,
    extra_min: int, comma: str,
) -> str | None:  # fmt: skip
    """Extra members after k declared ones: enough to reach lo, at most hi in all."""
    least = max(lo - k, extra_min, 0)
    most = min(cap, hi - k) if hi is not None else cap
    if extra is None or most <= 0:
        return '""' if least == 0 else None
    if least > most:
        return None
    if k:
        return repeat(c.rules.add("member", f"{comma} {extra}"), least, most)
    tail = repeat(c.rules.add("member", f"{comma} {extra}"), max(least - 1, 0), most - 1)
    first = cat(extra, tail)
    return first if least > 0 else f"({first})?"


def _pattern_schema(name: str, patterns: dict, additional: Any) -> Any:
    return next((sub for pat, sub in patterns.items() if search(pat, name)), additional)
