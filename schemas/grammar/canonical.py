"""The canonical text of an instance: the one serialization a compiled grammar prescribes.

Object keys follow the schema's declared order: the properties of every subschema that
applies, in the order the compiler merges them, then the names only `required` declares,
then the keys the schema does not declare, in their original order. A value given by a
`const` or an `enum` keeps that value's own key order. Separators are compact; strings use
`json.dumps` escaping; numbers have no exponent and integral floats are written as
integers. Reordering keys does not change a JSON value, so this is a normalisation, not an
edit.
"""

import contextlib
from typing import Any

from pydantic import BaseModel

from schemas.grammar.json_text import canonical_value_json, number_text, same_value
from schemas.grammar.negation import Inexpressible, is_leaf, value_types
from schemas.grammar.refs import Document, RefError
from schemas.grammar.rewrite import FormatPolicy, Rewriter
from schemas.grammar.vocabulary import siblings

__all__ = ["canonical_json", "canonical_value_json", "number_text"]


def canonical_json(
    value: Any,
    schema: type[BaseModel] | dict | bool,
    required_first: bool = False,
    root: Any = None,
    formats: FormatPolicy = "assert",
) -> str:
    """Serialize `value` the way the grammar compiled from `schema` writes it.

    `required_first` orders required properties before optional ones (the convention of
    llama.cpp's own converter), for comparisons against it. `root` is the document that
    `$ref`s resolve against when `schema` is a part of it. `formats` is the policy the
    grammar was compiled with (it decides which union branch a value takes).
    """
    if isinstance(schema, type) and issubclass(schema, BaseModel):
        schema = schema.model_json_schema()
    doc = Document(schema if root is None else root)
    orderer = _Orderer(Rewriter(doc, formats), required_first)
    ordered = orderer.order(value, [doc.root if root is None else schema])
    return canonical_value_json(ordered, doc.float_point)


class _Orderer:
    def __init__(self, rewriter: Rewriter, required_first: bool) -> None:
        self.rw = rewriter
        self.required_first = required_first

    def valid(self, value: Any, schema: Any) -> bool:
        return self.rw.validates(value, schema)

    def rewritten(self, schema: dict) -> Any:
        """The schema as the compiler sees it (rewrite.py); as is where it has no rewrite."""
        with contextlib.suppress(Inexpressible, RefError):
            schema = self.rw.normalize(schema)
            if isinstance(schema, dict) and "not" in schema:
                rest = {k: v for k, v in schema.items() if k != "not"}
                if not is_leaf(schema["not"], value_types(rest)):
                    schema = self.rw.without_not(schema)
        return schema

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
            rewritten = self.rewritten(s)
            if rewritten is not s:
                more, later = self._collect(value, [rewritten], depth + 1)
                static, branches = static + more, branches + later
                continue
            if "$ref" in s:
                with contextlib.suppress(RefError):  # unresolvable: nothing to order by
                    target = self.rw.doc.resolve(s["$ref"])
                    more, later = self._collect(value, [target], depth + 1)
                    static, branches = static + more, branches + later
            static.append(s)
            for key in ("anyOf", "oneOf"):  # a schema's own unions before its parts' ones
                options = s.get(key) if isinstance(s.get(key), list) else []
                if key == "oneOf" and len(options) > 1:
                    options = self.rw.exact_one_of(options, siblings(s, key)) or options
                chosen = next((b for b in options if self.valid(value, b)), None)
                more, later = self._collect(value, [chosen] if chosen else options, depth + 1)
                branches += more + later
            parts = s.get("allOf") if isinstance(s.get("allOf"), list) else []
            more, later = self._collect(value, parts, depth + 1)
            static, branches = static + more, branches + later
        return static, branches

    def order(self, value: Any, schemas: list[Any]) -> Any:
        applicable = self.expand(value, schemas)
        value = _given_value(value, applicable)
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
        for s in schemas:  # names only `required` declares follow every declared property
            names = s.get("required") if isinstance(s.get("required"), list) else []
            declared.extend(n for n in names if isinstance(n, str) and n not in declared)
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
            if "contains" in s:
                found.append(s["contains"])
        return found


def _given_value(value: Any, schemas: list[dict]) -> Any:
    """The `const`/`enum` value equal to `value`, whose key order the grammar writes."""
    if not isinstance(value, dict | list):
        return value
    for s in schemas:
        candidates = [s["const"]] if "const" in s else s.get("enum")
        for candidate in candidates if isinstance(candidates, list) else []:
            if same_value(candidate, value):
                return candidate
    return value
