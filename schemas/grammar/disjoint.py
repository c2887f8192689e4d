"""Proofs that two schemas share no instance, so that a `oneOf` over them is a plain union.

Sound, not complete: `disjoint` answers True only with a proof. Each schema is read as the
conjunction of its own keywords, its `$ref` target and its `allOf` parts; two schemas are
disjoint when they admit no common type, when the finite values (const/enum) of one all
fail the other, when both can only be objects and a property that one requires is
forbidden by the other or constrained to disjoint values, or when both can only be of one
kind and their ranges (of a number, a length or a count) do not meet. Pydantic's
discriminated unions are the case that matters: every branch requires the discriminator
and gives it a different constant.
"""

import contextlib
from collections.abc import Callable
from typing import Any

from schemas.grammar.merge import types_of

Resolve = Callable[[str], Any]
Validates = Callable[[Any, Any], bool]
ALL = {"null", "boolean", "object", "array", "string", "number", "integer"}
RANGES = {
    "number": ("minimum", "maximum"), "string": ("minLength", "maxLength"),
    "array": ("minItems", "maxItems"), "object": ("minProperties", "maxProperties"),
}  # fmt: skip


def disjoint(a: Any, b: Any, resolve: Resolve, validates: Validates, depth: int = 0) -> bool:
    if a is False or b is False:
        return True
    if depth > 8 or a is True or b is True:
        return False
    fa, fb = facts(a, resolve), facts(b, resolve)
    common = _types(fa) & _types(fb)
    if not common:
        return True
    for own, other in ((fa, b), (fb, a)):
        for f in own:
            values = _finite(f)
            if values is not None and not any(validates(v, other) for v in values):
                return True
    if common <= {"object"} and _properties_apart(fa, fb, resolve, validates, depth):
        return True
    return any(
        common <= ({kind, "integer"} if kind == "number" else {kind}) and _apart(fa, fb, keys)
        for kind, keys in RANGES.items()
    )


def facts(schema: Any, resolve: Resolve, depth: int = 0) -> list[dict]:
    """The plain schema objects that all hold wherever `schema` holds."""
    if not isinstance(schema, dict) or depth > 8:
        return []
    out = [schema]
    if isinstance(schema.get("$ref"), str):
        with contextlib.suppress(ValueError):
            out += facts(resolve(schema["$ref"]), resolve, depth + 1)
    for part in schema.get("allOf", []) if isinstance(schema.get("allOf"), list) else []:
        out += facts(part, resolve, depth + 1)
    return out


def _types(parts: list[dict]) -> set[str]:
    """The types an instance can have (integer counted as a kind of number)."""
    allowed = set(ALL)
    for f in parts:
        if "type" in f:
            named = set(types_of(f["type"]))
            allowed &= named | {"integer"} if "number" in named else named
    return allowed


def _finite(schema: dict) -> list | None:
    if "const" in schema:
        return [schema["const"]]
    return list(schema["enum"]) if isinstance(schema.get("enum"), list) else None


def _apart(fa: list[dict], fb: list[dict], keys: tuple[str, str]) -> bool:
    """One side's lower bound above the other side's upper bound."""
    lo_key, hi_key = keys

    def bound(parts: list[dict], key: str, pick: Callable) -> Any:
        found = [f[key] for f in parts if _is_num(f.get(key))]
        return pick(found) if found else None

    for lows, highs in ((fa, fb), (fb, fa)):
        lo, hi = bound(lows, lo_key, max), bound(highs, hi_key, min)
        if lo is not None and hi is not None and lo > hi:
            return True
    return False


def _properties_apart(
    fa: list[dict], fb: list[dict], resolve: Resolve, validates: Validates, depth: int
) -> bool:
    """A property one side requires that the other forbids or constrains to values the
    first side's own schema for it excludes."""
    for req_side, other in ((fa, fb), (fb, fa)):
        required = {n for f in req_side for n in (f.get("required") or []) if isinstance(n, str)}
        for name in required:
            mine = [f["properties"][name] for f in req_side if name in _props(f)]
            theirs = [f["properties"][name] for f in other if name in _props(f)]
            if any(t is False for t in theirs):
                return True
            closed = any(
                f.get("additionalProperties") is False and not f.get("patternProperties")
                and name not in _props(f)
                for f in other
            )  # fmt: skip
            if closed or any(
                disjoint(m, t, resolve, validates, depth + 1) for m in mine for t in theirs
            ):
                return True
    return False


def _props(f: dict) -> dict:
    return f["properties"] if isinstance(f.get("properties"), dict) else {}


def _is_num(v: Any) -> bool:
    return isinstance(v, int | float) and not isinstance(v, bool)
