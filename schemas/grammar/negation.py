"""`not` as a schema: the complement of a schema, written with positive keywords.

A grammar cannot subtract one language from another, but most schemas have a complement
that is a union of simple pieces: a value fails `{"type": "string", "minLength": 2}` when it
is not a string, or when it is a string of at most one character. `Negator.negate` builds
that union keyword by keyword (a value fails a conjunction when it fails one of its parts).
Four complements have no positive keyword and stay a `not` over a leaf that the compiler
expresses directly: strings other than some (`not: {enum}` on strings), strings that a
pattern does not match (`not: {pattern}`, an automaton), numbers with a fraction
(`not: {type: integer}` on numbers) and objects with a key outside a set
(`not: {propertyNames: {enum}}` on objects). Whatever else has no exact complement raises
`Inexpressible`.
"""

import itertools
from collections.abc import Callable
from decimal import Decimal
from typing import Any

from schemas.grammar.formats import FORMATS
from schemas.grammar.vocabulary import ANNOTATIONS

TYPES = ("null", "boolean", "object", "array", "string", "number")
# Keywords read together with another one (their partner negates them).
PARTNERS = {"then", "else", "minContains", "maxContains", "prefixItems", "items", "additionalItems"}


class Inexpressible(ValueError):
    """The complement of this schema has no exact form as a grammar."""


def is_leaf(negated: Any, types: list[str]) -> bool:
    """Whether `not: negated` over values of `types` is one of the compiler's own forms."""
    if not isinstance(negated, dict):
        return False
    keys = set(negated) - ANNOTATIONS
    if types == ["string"] and keys == {"pattern"}:
        return isinstance(negated["pattern"], str)
    if types == ["string"] and keys in ({"enum"}, {"const"}):
        values = negated.get("enum", [negated.get("const")])
        return isinstance(values, list) and all(isinstance(v, str) for v in values)
    if types == ["number"] and keys == {"type"}:
        return negated["type"] == "integer"
    if types == ["object"] and keys == {"propertyNames"}:
        names = negated["propertyNames"]
        return isinstance(names, dict) and set(names) == {"enum"}
    return False


class Negator:
    def __init__(self, resolve: Callable[[str], Any], assert_formats: bool) -> None:
        self.resolve = resolve
        self.assert_formats = assert_formats
        self.depth = 0

    def negate(self, schema: Any) -> Any:
        """A schema that holds exactly where `schema` fails."""
        if schema is True or schema is False:
            return not schema
        if not isinstance(schema, dict):
            raise Inexpressible(f"not a schema: {schema!r}")
        self.depth += 1
        try:
            if self.depth > 16:
                raise Inexpressible("'not' over a recursive reference")
            clauses = []
            for key, value in schema.items():
                if key not in ANNOTATIONS and key not in PARTNERS:
                    clauses += self.keyword(key, value, schema)
            clauses += self.items(schema)
        finally:
            self.depth -= 1
        return union(clauses)

    # -- keyword by keyword --------------------------------------------------------------

    def keyword(self, key: str, value: Any, schema: dict) -> list[Any]:
        method = getattr(self, "k_" + key.lstrip("$"), None)
        if method is not None:
            return method(value, schema)
        if key in NUMBER_FLIPS:
            return self.bound(key, value, schema)
        if key in COUNT_FLIPS:
            return count_flip(key, value)
        if key in INEXPRESSIBLE:
            raise Inexpressible(f"'not' over '{key}' has no exact grammar")
        return []  # an annotation or an unknown keyword: it holds for every value

    def k_type(self, value: Any, schema: dict) -> list[Any]:
        named = [value] if isinstance(value, str) else list(value)
        outside = [t for t in TYPES if t not in named]
        clauses = []
        if "integer" in named and "number" not in named:
            outside.remove("number")
            clauses.append({"type": "number", "not": {"type": "integer"}})
        return ([{"type": outside}] if outside else []) + clauses

    def k_const(self, value: Any, schema: dict) -> list[Any]:
        return [self.values([value])]

    def k_enum(self, value: Any, schema: dict) -> list[Any]:
        return [self.values(list(value))]

    def k_ref(self, value: Any, schema: dict) -> list[Any]:
        return [self.negate(self.resolve(value))]

    def k_allOf(self, value: list, schema: dict) -> list[Any]:
        return [self.negate(part) for part in value]

    def k_anyOf(self, value: list, schema: dict) -> list[Any]:
        return [intersection([self.negate(b) for b in value])]

    def k_oneOf(self, value: list, schema: dict) -> list[Any]:
        """None of the branches, or at least two of them."""
        pairs = [intersection([a, b]) for i, a in enumerate(value) for b in value[i + 1 :]]
        return [intersection([self.negate(b) for b in value]), *pairs]

    def k_not(self, value: Any, schema: dict) -> list[Any]:
        return [value]

    def k_if(self, value: Any, schema: dict) -> list[Any]:
        clauses = []
        if "then" in schema:
            clauses.append(intersection([value, self.negate(schema["then"])]))
        if "else" in schema:
            clauses.append(intersection([self.negate(value), self.negate(schema["else"])]))
        return clauses

    def k_pattern(self, value: Any, schema: dict) -> list[Any]:
        return [{"type": "string", "not": {"pattern": value}}]

    def k_format(self, value: Any, schema: dict) -> list[Any]:
        if self.assert_formats and value in FORMATS:
            raise Inexpressible(f"'not' over format '{value}' has no exact grammar")
        return []

    def k_required(self, value: list, schema: dict) -> list[Any]:
        return [{"type": "object", "properties": {name: False}} for name in value]

    def k_properties(self, value: dict, schema: dict) -> list[Any]:
        clauses = []
        for name, sub in value.items():
            neg = self.negate(sub)
            if neg is not False:
                clauses.append({"type": "object", "required": [name], "properties": {name: neg}})
        return clauses

    def k_patternProperties(self, value: dict, schema: dict) -> list[Any]:
        if any(sub is not True and sub != {} for sub in value.values()):
            raise Inexpressible("'not' over patternProperties has no exact grammar")
        return []

    def k_additionalProperties(self, value: Any, schema: dict) -> list[Any]:
        if value is True or value == {}:
            return []
        if value is not False or schema.get("patternProperties"):
            raise Inexpressible("'not' over additionalProperties has no exact grammar")
        return [some_key_outside(list(schema.get("properties", {})))]

    def k_propertyNames(self, value: Any, schema: dict) -> list[Any]:
        if value is True or value == {}:
            return []
        if value is False:
            return [{"type": "object", "minProperties": 1}]
        if isinstance(value, dict) and set(value) == {"enum"}:
            return [{"type": "object", "not": {"propertyNames": value}}]
        raise Inexpressible("'not' over propertyNames has no exact grammar")

    def k_dependentRequired(self, value: dict, schema: dict) -> list[Any]:
        return [
            {"type": "object", "required": [name], "properties": {other: False}}
            for name, others in value.items()
            for other in others
        ]

    def k_dependentSchemas(self, value: dict, schema: dict) -> list[Any]:
        return [
            intersection([{"type": "object", "required": [name]}, self.negate(sub)])
            for name, sub in value.items()
        ]

    def k_dependencies(self, value: dict, schema: dict) -> list[Any]:
        lists = {n: v for n, v in value.items() if isinstance(v, list)}
        subs = {n: v for n, v in value.items() if not isinstance(v, list)}
        return self.k_dependentRequired(lists, schema) + self.k_dependentSchemas(subs, schema)

    def k_contains(self, value: Any, schema: dict) -> list[Any]:
        lo, hi = schema.get("minContains", 1), schema.get("maxContains")
        clauses = []
        if lo > 0:
            clauses.append(
                {"type": "array", "contains": value, "minContains": 0, "maxContains": lo - 1}
            )
        if hi is not None:
            clauses.append({"type": "array", "contains": value, "minContains": hi + 1})
        return clauses

    def bound(self, key: str, value: Any, schema: dict) -> list[Any]:
        if isinstance(value, bool) or not isinstance(value, int | float):
            return []  # draft 4's boolean exclusives are read with their bound
        strict = schema.get(BOOLEAN_PARTNER.get(key, "")) is True
        return [{"type": "number", NUMBER_FLIPS[key][strict]: value}]

    def items(self, schema: dict) -> list[Any]:
        """Arrays with an item that fails its positional schema."""
        prefix = schema.get("prefixItems")
        rest = schema.get("items", True)
        if prefix is None and isinstance(rest, list):
            prefix, rest = rest, schema.get("additionalItems", True)
        prefix = prefix or []
        clauses = []
        for i, sub in enumerate(prefix):
            neg = self.negate(sub)
            if neg is not False:
                clauses.append(
                    {"type": "array", "minItems": i + 1, "prefixItems": [True] * i + [neg]}
                )
        if rest is True or rest == {}:
            return clauses
        if rest is False:
            return [*clauses, {"type": "array", "minItems": len(prefix) + 1}]
        if prefix:
            raise Inexpressible("'not' over items after prefixItems has no exact grammar")
        neg = self.negate(rest)
        return clauses if neg is False else [*clauses, {"type": "array", "contains": neg}]

    # -- values --------------------------------------------------------------------------

    def values(self, values: list) -> Any:
        """Every JSON value except these."""
        clauses, whole = [], []
        if not any(v is None for v in values):
            whole.append("null")
        bools = {v for v in values if isinstance(v, bool)}
        if not bools:
            whole.append("boolean")
        elif len(bools) == 1:
            clauses.append({"const": not bools.pop()})
        numbers = {Decimal(str(v)): v for v in values if _is_number(v)}
        if numbers:
            clauses += _gaps([numbers[k] for k in sorted(numbers)])
        else:
            whole.append("number")
        strings = list(dict.fromkeys(v for v in values if isinstance(v, str)))
        if strings:
            clauses.append({"type": "string", "not": {"enum": strings}})
        else:
            whole.append("string")
        arrays = [v for v in values if isinstance(v, list)]
        objects = [v for v in values if isinstance(v, dict)]
        clauses += [intersection([self.other_array(a) for a in arrays])] if arrays else []
        clauses += [intersection([self.other_object(o) for o in objects])] if objects else []
        whole += [t for t, vs in (("array", arrays), ("object", objects)) if not vs]
        return union(([{"type": whole}] if whole else []) + clauses)

    def other_array(self, value: list) -> Any:
        n = len(value)
        clauses = [{"type": "array", "maxItems": n - 1}] if n else []
        clauses.append({"type": "array", "minItems": n + 1})
        for i, item in enumerate(value):
            clauses.append(
                {"type": "array", "minItems": i + 1,
                 "prefixItems": [True] * i + [self.values([item])]}
            )  # fmt: skip
        return union(clauses)

    def other_object(self, value: dict) -> Any:
        clauses: list[Any] = [some_key_outside(list(value))]
        for name, item in value.items():
            clauses.append({"type": "object", "properties": {name: False}})
            clauses.append(
                {"type": "object", "required": [name], "properties": {name: self.values([item])}}
            )
        return union(clauses)


NUMBER_FLIPS = {  # bound -> the flipped keyword, by whether the bound is exclusive
    "minimum": {False: "exclusiveMaximum", True: "maximum"},
    "exclusiveMinimum": {False: "maximum", True: "maximum"},
    "maximum": {False: "exclusiveMinimum", True: "minimum"},
    "exclusiveMaximum": {False: "minimum", True: "minimum"},
}
BOOLEAN_PARTNER = {"minimum": "exclusiveMinimum", "maximum": "exclusiveMaximum"}
COUNT_FLIPS = {
    "minLength": ("string", "maxLength"), "maxLength": ("string", "minLength"),
    "minItems": ("array", "maxItems"), "maxItems": ("array", "minItems"),
    "minProperties": ("object", "maxProperties"), "maxProperties": ("object", "minProperties"),
}  # fmt: skip
INEXPRESSIBLE = {
    "multipleOf", "uniqueItems", "unevaluatedProperties", "unevaluatedItems",
    "dynamicRef", "$dynamicRef", "$recursiveRef",
}  # fmt: skip


def count_flip(key: str, value: Any) -> list[Any]:
    kind, flipped = COUNT_FLIPS[key]
    if key.startswith("min"):
        return [{"type": kind, flipped: value - 1}] if value > 0 else []
    return [{"type": kind, flipped: value + 1}]


def some_key_outside(names: list[str]) -> dict:
    if not names:
        return {"type": "object", "minProperties": 1}
    return {"type": "object", "not": {"propertyNames": {"enum": names}}}


def union(clauses: list[Any]) -> Any:
    kept = [c for c in clauses if c is not False]
    if any(c is True or c == {} for c in kept):
        return True
    if not kept:
        return False
    return kept[0] if len(kept) == 1 else {"anyOf": kept}


def intersection(parts: list[Any]) -> Any:
    kept = [p for p in parts if p is not True and p != {}]
    if any(p is False for p in kept):
        return False
    if not kept:
        return True
    return kept[0] if len(kept) == 1 else {"allOf": kept}


def _is_number(v: Any) -> bool:
    return isinstance(v, int | float) and not isinstance(v, bool)


def _gaps(points: list[int | float]) -> list[dict]:
    """Numbers other than `points` (sorted): the open intervals around them."""
    gaps = [{"type": "number", "exclusiveMaximum": points[0]}]
    for a, b in itertools.pairwise(points):
        gaps.append({"type": "number", "exclusiveMinimum": a, "exclusiveMaximum": b})
    gaps.append({"type": "number", "exclusiveMinimum": points[-1]})
    return gaps


def value_types(schema: dict) -> list[str]:
    """The types a schema admits, `integer` folded into `number` when both are named."""
    t = schema.get("type")
    if t is None:
        return list(TYPES)
    types = [t] if isinstance(t, str) else list(t)
    if "number" in types and "integer" in types:
        types.remove("integer")
    return types
