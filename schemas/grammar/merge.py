"""allOf as one schema: the intersection of schemas, keyword by keyword, where it exists.

Also the rewrite of dependencies into allOf/anyOf, so the compiler needs no special case.
"""

import math
import re
from fractions import Fraction
from typing import Any

from schemas.grammar.json_text import canonical_value_json
from schemas.grammar.vocabulary import ANNOTATIONS, DEPENDENCIES


class MergeError(ValueError):
    """Two values of one keyword cannot be combined into one schema."""


UNSAT = object()  # marker: the intersection is empty


def types_of(t: Any) -> list[str]:
    return [t] if isinstance(t, str) else list(t)


def same(a: Any, b: Any) -> bool:
    return canonical_value_json(a) == canonical_value_json(b)


def search(pattern: str, text: str) -> bool:
    """Python's re as a stand-in for ECMA regex, for compile-time checks on fixed names."""
    try:
        return re.search(pattern, text) is not None
    except re.error:
        return False


def dependencies_as_all_of(schema: dict) -> dict:
    """`a` depends on X ≡ either `a` is absent, or `a` is present and X holds."""
    rest = {k: v for k, v in schema.items() if k not in DEPENDENCIES}
    parts = []
    for key in DEPENDENCIES:
        for name, dep in (schema.get(key) or {}).items():
            needs = {"required": dep} if isinstance(dep, list) else dep
            present = {"allOf": [{"required": [name]}, needs]}
            parts.append({"anyOf": [{"properties": {name: False}}, present]})
    return {"allOf": [rest, *parts]}


ITEM_KEYS = ("prefixItems", "items", "additionalItems")
LISTS = ("x-patterns", "x-not-patterns", "x-not-strings", "x-extra-exclude")  # all must hold


def merge_two(a: dict, b: Any) -> Any:
    if b is False or not isinstance(b, dict):
        return False if b is False else a
    b = _own_counts(b)
    out = _own_counts(dict(a))
    for key, value in b.items():
        if key in ITEM_KEYS:
            continue
        if key in ANNOTATIONS or key not in out:
            out[key] = value if key not in ("properties",) else dict(value)
            continue
        mine = out[key]
        if same(mine, value):
            continue
        if key == "pattern":  # both patterns hold: the compiler intersects them
            out["x-patterns"] = [*out.get("x-patterns", []), value]
            continue
        if key in LISTS:
            out[key] = list(dict.fromkeys([*mine, *value]))
            continue
        out[key] = _merge_keyword(key, mine, value)
        if out[key] is UNSAT:
            return False
    _apply_closed_objects(out, a, b)
    _merge_items(out, a, b)
    return out


def _own_counts(schema: dict) -> dict:
    """min/maxContains mean nothing without `contains` in the same schema: dropped before
    they could meet another part's `contains`."""
    if "contains" in schema or not ("minContains" in schema or "maxContains" in schema):
        return schema
    return {k: v for k, v in schema.items() if k not in ("minContains", "maxContains")}


def item_layout(schema: dict) -> tuple[list, Any]:
    """(the positional item schemas, the schema of every later item)."""
    items = schema.get("items", True)
    if "prefixItems" in schema:
        return list(schema["prefixItems"]), items
    if isinstance(items, list):
        return list(items), schema.get("additionalItems", True)
    return [], items


def _merge_items(out: dict, a: dict, b: dict) -> None:
    """Both sides' items, position by position: an item meets the other side's positional
    schema, or its schema for later items."""
    if not any(k in a or k in b for k in ITEM_KEYS):
        return
    (pa, ra), (pb, rb) = item_layout(a), item_layout(b)
    for key in ITEM_KEYS:
        out.pop(key, None)
    n = max(len(pa), len(pb))
    if n:
        out["prefixItems"] = [
            _both(pa[i] if i < len(pa) else ra, pb[i] if i < len(pb) else rb) for i in range(n)
        ]
    rest = _both(ra, rb)
    if rest is not True:
        out["items"] = rest


def _both(x: Any, y: Any) -> Any:
    if x is True or x == {} or same(x, y):
        return y
    if y is True or y == {}:
        return x
    return {"allOf": [x, y]}


def _merge_keyword(key: str, mine: Any, other: Any) -> Any:
    if key == "type":
        left, right = set(types_of(mine)), set(types_of(other))
        if "number" in left and "integer" in right:
            left.add("integer")
        if "number" in right and "integer" in left:
            right.add("integer")
        common = [t for t in [*types_of(mine), "integer"] if t in left & right]
        common = list(dict.fromkeys(common))
        return common if common else UNSAT
    if key in ("properties", "patternProperties"):
        merged = dict(mine)
        for name, sub in other.items():
            merged[name] = {"allOf": [merged[name], sub]} if name in merged else sub
        return merged
    if key == "required":
        return list(dict.fromkeys([*mine, *other]))
    if key in ("minLength", "minItems", "minProperties", "minimum", "minContains"):
        return max(mine, other)
    if key in ("maxLength", "maxItems", "maxProperties", "maximum", "maxContains"):
        return min(mine, other)
    if (
        key in ("exclusiveMinimum", "exclusiveMaximum")
        and not isinstance(mine, bool)
        and not isinstance(other, bool)
    ):
        return max(mine, other) if key == "exclusiveMinimum" else min(mine, other)
    if key == "enum":
        kept = [v for v in mine if any(same(v, w) for w in other)]
        return kept if kept else UNSAT
    if key == "const":
        return UNSAT
    if key in ("additionalProperties", "propertyNames"):
        return {"allOf": [mine, other]}
    if key == "multipleOf":
        fa, fb = Fraction(str(mine)), Fraction(str(other))
        if (fa / fb).denominator == 1:
            return mine
        if (fb / fa).denominator == 1:
            return other
        if fa.denominator == fb.denominator == 1:
            return math.lcm(int(fa), int(fb))
    if key in ("anyOf", "oneOf"):
        if len(mine) * len(other) > 64:
            raise MergeError(f"allOf of two large '{key}' lists")
        return [{"allOf": [x, y]} for x in mine for y in other]
    if key == "not":
        values = _excluded_values(mine), _excluded_values(other)
        if values[0] is not None and values[1] is not None:
            return {"enum": values[0] + values[1]}  # not A and not B: not (A or B)
        return {"anyOf": [mine, other]}
    raise MergeError(f"allOf with two different '{key}' values cannot be merged")


def _excluded_values(negated: Any) -> list | None:
    if not isinstance(negated, dict) or not set(negated) - ANNOTATIONS <= {"enum", "const"}:
        return None
    if "const" in negated and "enum" in negated:
        return None
    return [negated["const"]] if "const" in negated else list(negated.get("enum", []))


def _apply_closed_objects(out: dict, a: dict, b: dict) -> None:
    """A property declared by one side only must also satisfy the other side's extras rule."""
    for this, that in ((a, b), (b, a)):
        extra = this.get("additionalProperties", True)
        if extra is True or "properties" not in that:
            continue
        declared = set(this.get("properties", {}))
        props = dict(out.get("properties", {}))
        for name in that["properties"]:
            if name in declared or any(search(p, name) for p in this.get("patternProperties", {})):
                continue
            props[name] = False if extra is False else {"allOf": [props[name], extra]}
        out["properties"] = props
