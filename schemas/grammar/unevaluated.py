"""`unevaluatedProperties` / `unevaluatedItems` rewritten with plain keywords.

A member of an object (an item of an array) is *evaluated* when a keyword names it:
properties, patternProperties, additionalProperties (prefixItems, items, contains) in the
schema itself or in an in-place subschema that validates the instance: the `$ref` target,
the allOf parts, the anyOf/oneOf branches that match, `if` with its `then` or the `else`,
and the dependentSchemas that apply. Which subschemas validate depends on the instance, so
the schema is expanded into alternatives: each is a conjunction of subschemas that must all
validate, with an evaluated set known in advance, and closes the rest with the
unevaluated schema:

    {"properties": {<each evaluated name>: true}, "patternProperties": {<…>: true},
     "additionalProperties": <unevaluatedProperties>}

An anyOf contributes each non-empty subset of its branches that evaluate something (the
members of several matching branches add up); a oneOf one branch at a time, the others
excluded. The rewrite is exact: a valid instance is accepted by the alternative of all the
subschemas it satisfies, and an alternative that accepts an instance evaluates no more
than the original schema does, so it never lets an unevaluated member through.
"""

from collections.abc import Callable
from dataclasses import dataclass, field
from itertools import combinations
from typing import Any

from schemas.grammar.negation import Inexpressible, intersection, union

UNEVALUATED = ("unevaluatedProperties", "unevaluatedItems")
IN_PLACE = {
    "$ref", "allOf", "anyOf", "oneOf", "if", "then", "else", "dependentSchemas",
    "dependencies", *UNEVALUATED,
}  # fmt: skip
LIMIT = 64  # alternatives; beyond, the schema is refused


@dataclass
class Alternative:
    parts: list = field(default_factory=list)
    names: list[str] = field(default_factory=list)
    patterns: list[str] = field(default_factory=list)
    all_names: bool = False
    prefix: int = 0
    all_items: bool = False
    contains: list = field(default_factory=list)

    def evaluates(self) -> bool:
        return bool(
            self.names or self.patterns or self.all_names or self.prefix or self.all_items
            or self.contains
        )  # fmt: skip

    def __add__(self, other: "Alternative") -> "Alternative":
        return Alternative(
            self.parts + other.parts,
            list(dict.fromkeys(self.names + other.names)),
            list(dict.fromkeys(self.patterns + other.patterns)),
            self.all_names or other.all_names,
            max(self.prefix, other.prefix),
            self.all_items or other.all_items,
            self.contains + other.contains,
        )


class Unevaluated:
    """The rewrite, given how to resolve references, negate a schema and make the branches
    of a oneOf exclusive."""

    def __init__(
        self,
        resolve: Callable[[str], Any],
        negate: Callable[[Any], Any],
        exclusive: Callable[[list], list[tuple[Any, list]]],
    ) -> None:
        self.resolve = resolve
        self.negate = negate
        self.exclusive = exclusive

    def close(self, schema: dict, depth: int = 0) -> Any:
        """`schema` without unevaluated keywords at its top, with the same instances."""
        rest = {k: v for k, v in schema.items() if k not in UNEVALUATED}
        out = []
        for alt in self.expand(rest, depth):
            parts = list(alt.parts)
            props, items = schema.get("unevaluatedProperties"), schema.get("unevaluatedItems")
            if "unevaluatedProperties" in schema and not alt.all_names and not _is_true(props):
                parts.append(_close_members(alt, props))
            if "unevaluatedItems" in schema and not alt.all_items and not _is_true(items):
                parts.append(_close_items(alt, items))
            out.append(intersection(parts))
        return union(out)

    def expand(self, schema: Any, depth: int) -> list[Alternative]:
        if depth > 32:
            raise Inexpressible("unevaluated keywords over a recursive in-place reference")
        if schema is True or (isinstance(schema, dict) and not schema):
            return [Alternative()]
        if schema is False:
            return []
        if not isinstance(schema, dict):
            raise Inexpressible(f"not a schema: {schema!r}")
        if any(k in schema for k in UNEVALUATED):  # a nested one evaluates everything
            closed = self.close(schema, depth + 1)
            return [
                Alternative(
                    [closed],
                    all_names="unevaluatedProperties" in schema,
                    all_items="unevaluatedItems" in schema,
                )
            ]
        alts = [_own(schema)]
        if "$ref" in schema:  # the target first: the order in which the compiler merges
            alts = _product(self.expand(self.resolve(schema["$ref"]), depth + 1), alts)
        for part in schema.get("allOf", []):
            alts = _product(alts, self.expand(part, depth + 1))
        if "anyOf" in schema:
            alts = _product(alts, self.any_of(schema["anyOf"], depth))
        if "oneOf" in schema:
            # the parts that exclude the other branches are negations: they evaluate nothing
            options = [
                _product(self.expand(branch, depth + 1), [Alternative(excluded)])
                for branch, excluded in self.exclusive(schema["oneOf"])
            ]
            alts = _product(alts, [a for o in options for a in o])
        if "if" in schema:
            alts = _product(alts, self.conditional(schema, depth))
        for name, dep in _dependent_schemas(schema).items():
            present = _product([Alternative([{"required": [name]}])], self.expand(dep, depth + 1))
            alts = _product(alts, [Alternative([{"properties": {name: False}}]), *present])
        return alts

    def any_of(self, branches: list, depth: int) -> list[Alternative]:
        expanded = [self.expand(b, depth + 1) for b in branches]
        evaluating = [e for e in expanded if any(a.evaluates() for a in e)]
        if 2 ** len(evaluating) > LIMIT:
            raise Inexpressible("unevaluated keywords over too many anyOf branches")
        out = [a for e in expanded if not any(a.evaluates() for a in e) for a in e]
        for size in range(1, len(evaluating) + 1):
            for subset in combinations(evaluating, size):
                alts = [Alternative()]
                for e in subset:
                    alts = _product(alts, e)
                out += alts
        return out

    def conditional(self, schema: dict, depth: int) -> list[Alternative]:
        cond = schema["if"]
        then = self.expand(schema.get("then", True), depth + 1)
        other = self.expand(schema.get("else", True), depth + 1)
        taken = _product(self.expand(cond, depth + 1), then)
        return taken + _product([Alternative([self.negate(cond)])], other)


def _own(schema: dict) -> Alternative:
    """The schema's own keywords, and what they evaluate."""
    own = {k: v for k, v in schema.items() if k not in IN_PLACE}
    required = {n: v for n, v in (schema.get("dependencies") or {}).items() if isinstance(v, list)}
    if required:
        own["dependentRequired"] = {**own.get("dependentRequired", {}), **required}
    alt = Alternative([own] if own else [])
    alt.names = list(own.get("properties") or {})
    alt.patterns = list(own.get("patternProperties") or {})
    alt.all_names = "additionalProperties" in own
    items = own.get("items")
    if "prefixItems" in own:
        alt.prefix, alt.all_items = len(own["prefixItems"]), "items" in own
    elif isinstance(items, list):
        alt.prefix, alt.all_items = len(items), "additionalItems" in own
    else:
        alt.all_items = "items" in own
    alt.contains = [own["contains"]] if "contains" in own else []
    return alt


def _dependent_schemas(schema: dict) -> dict[str, Any]:
    found = dict(schema.get("dependentSchemas") or {})
    for name, dep in (schema.get("dependencies") or {}).items():
        if not isinstance(dep, list):
            found[name] = dep
    return found


def _product(left: list[Alternative], right: list[Alternative]) -> list[Alternative]:
    if len(left) * len(right) > LIMIT:
        raise Inexpressible("unevaluated keywords with too many alternatives")
    return [a + b for a in left for b in right]


def _is_true(schema: Any) -> bool:
    return schema is True or schema == {}


def _close_members(alt: Alternative, rest: Any) -> dict:
    closure: dict[str, Any] = {"properties": dict.fromkeys(alt.names, True)}
    if alt.patterns:
        closure["patternProperties"] = dict.fromkeys(alt.patterns, True)
    closure["additionalProperties"] = rest
    return closure


def _close_items(alt: Alternative, rest: Any) -> dict:
    closure: dict[str, Any] = {"prefixItems": [True] * alt.prefix} if alt.prefix else {}
    closure["items"] = {"anyOf": [*alt.contains, rest]} if alt.contains else rest
    return closure
