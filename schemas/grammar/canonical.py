"""The canonical text of an instance: the one serialization a compiled grammar prescribes.

Object keys follow the schema's declared order (keys the schema does not declare come
after, in their original order); separators are compact; strings use `json.dumps`
escaping; numbers have no exponent and integral floats are written as integers.
Reordering keys does not change a JSON value, so this is a normalisation, not an edit.
"""

import contextlib
import json
from decimal import Decimal
from json.encoder import encode_basestring  # json.dumps' own escaping
from typing import Any

from jsonschema import validators
from pydantic import BaseModel

from schemas.grammar.refs import resolve_ref


def canonical_json(
    value: Any,
    schema: type[BaseModel] | dict | bool,
    required_first: bool = False,
    root: Any = None,
) -> str:
    """Serialize `value` the way the grammar compiled from `schema` writes it.

    `required_first` orders required properties before optional ones (the convention of
    llama.cpp's own converter), for comparisons against it. `root` is the document that
    `$ref`s resolve against when `schema` is a part of it.
    """
    if isinstance(schema, type) and issubclass(schema, BaseModel):
        schema = schema.model_json_schema()
    ordered = _Orderer(schema if root is None else root, required_first).order(value, [schema])
    return canonical_value_json(ordered)


def canonical_value_json(value: Any) -> str:
    """A JSON value in canonical compact form, keys in the order given."""
    if isinstance(value, str):
        return encode_basestring(value)
    if value is None or isinstance(value, bool):
        return json.dumps(value)
    if isinstance(value, int | float):
        return number_text(value)
    if isinstance(value, dict):
        items = (f"{encode_basestring(str(k))}:{canonical_value_json(v)}" for k, v in value.items())
        return "{" + ",".join(items) + "}"
    if isinstance(value, list | tuple):
        return "[" + ",".join(canonical_value_json(v) for v in value) + "]"
    raise TypeError(f"not a JSON value: {type(value).__name__}")


def number_text(value: int | float) -> str:
    """Plain decimal notation: integral floats as integers, never an exponent."""
    if isinstance(value, int) or value == 0:  # -0.0 is the number 0
        return str(int(value))
    text = format(Decimal(repr(value)), "f")  # the shortest digits that round-trip
    return text.rstrip("0").rstrip(".") if "." in text else text


class _Orderer:
    def __init__(self, root: Any, required_first: bool) -> None:
        self.root = root
        self.required_first = required_first
        self._validator: Any = None

    def valid(self, value: Any, schema: Any) -> bool:
        if self._validator is None:
            cls = validators.validator_for(self.root, default=validators.Draft202012Validator)
            self._validator = cls(self.root)
        try:
            return next(self._validator.descend(value, schema), None) is None
        except Exception:  # an unresolvable schema part: ordering falls back to all branches
            return False

    def expand(self, value: Any, schemas: list[Any]) -> list[dict]:
        """The subschemas that decide the value's layout, in the order the compiler merges
        them: every statically applicable part first (a $ref target before its siblings,
        allOf parts in order), then the first anyOf/oneOf branch the value satisfies, since
        the compiler distributes a union over everything else it meets."""
        static, branches = self._collect(value, schemas, 0)
        return static + branches

    def _collect(self, value: Any, schemas: list[Any], depth: int) -> tuple[list, list]:
        static: list[dict] = []
        branches: list[dict] = []
        for s in schemas:
            if not isinstance(s, dict) or depth > 32:
                continue
            if "$ref" in s:
                with contextlib.suppress(ValueError):  # unresolvable: nothing to order by
                    target = resolve_ref(self.root, s["$ref"])
                    more, later = self._collect(value, [target], depth + 1)
                    static, branches = static + more, branches + later
            static.append(s)
            for key in ("anyOf", "oneOf"):  # a schema's own unions before its parts' ones
                options = s.get(key) if isinstance(s.get(key), list) else []
                chosen = next((b for b in options if self.valid(value, b)), None)
                more, later = self._collect(value, [chosen] if chosen else options, depth + 1)
                branches += more + later
            parts = s.get("allOf") if isinstance(s.get("allOf"), list) else []
            more, later = self._collect(value, parts, depth + 1)
            static, branches = static + more, branches + later
        return static, branches

    def order(self, value: Any, schemas: list[Any]) -> Any:
        applicable = self.expand(value, schemas)
        if isinstance(value, dict):
            return self.order_object(value, applicable)
        if isinstance(value, list):
            return [self.order(v, self.item_schemas(applicable, i)) for i, v in enumerate(value)]
        return value

    def order_object(self, value: dict, schemas: list[dict]) -> dict:
        declared: list[str] = []
        for s in schemas:
            props = list(s.get("properties", {})) if isinstance(s.get("properties"), dict) else []
            if self.required_first:
                required = s.get("required", [])
                props = [p for p in props if p in required] + [
                    p for p in props if p not in required
                ]
            declared.extend(p for p in props if p not in declared)
        keys = [k for k in declared if k in value] + [k for k in value if k not in declared]
        return {k: self.order(value[k], self.property_schemas(schemas, k)) for k in keys}

    @staticmethod
    def property_schemas(schemas: list[dict], key: str) -> list[Any]:
        found = [s["properties"][key] for s in schemas if key in s.get("properties", {}) or {}]
        found += [
            s["additionalProperties"]
            for s in schemas
            if isinstance(s.get("additionalProperties"), dict)
        ]
        for s in schemas:
            found.extend(p for p in (s.get("patternProperties") or {}).values())
        return found

    @staticmethod
    def item_schemas(schemas: list[dict], index: int) -> list[Any]:
        found: list[Any] = []
        for s in schemas:
            prefix = s.get("prefixItems") or (
                s["items"] if isinstance(s.get("items"), list) else None
            )
            if prefix is not None and index < len(prefix):
                found.append(prefix[index])
            elif prefix is not None:
                found.append(s.get("items") if "prefixItems" in s else s.get("additionalItems"))
            elif "items" in s:
                found.append(s["items"])
        return found
