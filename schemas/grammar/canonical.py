"""The canonical text of an instance: the one serialization a compiled grammar prescribes.

Object keys follow the schema's declared order (keys the schema does not declare come
after, in their original order); separators are compact; strings use `json.dumps`
escaping; numbers have no exponent and integral floats are written as integers.
Reordering keys does not change a JSON value, so this is a normalisation, not an edit.
"""

from typing import Any

from pydantic import BaseModel

from schemas.grammar.compiler import canonical_value_json, resolve_ref


def canonical_json(value: Any, schema: type[BaseModel] | dict | bool, required_first: bool = False) -> str:
    """Serialize `value` the way the grammar compiled from `schema` writes it.

    `required_first` orders required properties before optional ones (the convention of
    llama.cpp's own converter), for comparisons against it.
    """
    if isinstance(schema, type) and issubclass(schema, BaseModel):
        schema = schema.model_json_schema()
    ordered = _Orderer(schema, required_first).order(value, [schema])
    return canonical_value_json(ordered)


class _Orderer:
    def __init__(self, root: Any, required_first: bool) -> None:
        self.root = root
        self.required_first = required_first

    def expand(self, schemas: list[Any], depth: int = 0) -> list[dict]:
        """Every subschema that applies to a value: refs resolved, compositions flattened."""
        out: list[dict] = []
        for s in schemas:
            if not isinstance(s, dict) or depth > 32:
                continue
            out.append(s)
            nested = []
            if "$ref" in s:
                try:
                    nested.append(resolve_ref(self.root, s["$ref"]))
                except ValueError:
                    pass
            for key in ("allOf", "anyOf", "oneOf"):
                nested.extend(s.get(key, []) if isinstance(s.get(key), list) else [])
            out.extend(self.expand(nested, depth + 1))
        return out

    def order(self, value: Any, schemas: list[Any]) -> Any:
        applicable = self.expand(schemas)
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
                props = [p for p in props if p in required] + [p for p in props if p not in required]
            declared.extend(p for p in props if p not in declared)
        keys = [k for k in declared if k in value] + [k for k in value if k not in declared]
        return {k: self.order(value[k], self.property_schemas(schemas, k)) for k in keys}

    @staticmethod
    def property_schemas(schemas: list[dict], key: str) -> list[Any]:
        found = [s["properties"][key] for s in schemas if key in s.get("properties", {}) or {}]
        found += [s["additionalProperties"] for s in schemas if isinstance(s.get("additionalProperties"), dict)]
        for s in schemas:
            found.extend(p for p in (s.get("patternProperties") or {}).values())
        return found

    @staticmethod
    def item_schemas(schemas: list[dict], index: int) -> list[Any]:
        found: list[Any] = []
        for s in schemas:
            prefix = s.get("prefixItems") or (s["items"] if isinstance(s.get("items"), list) else None)
            if prefix is not None and index < len(prefix):
                found.append(prefix[index])
            elif prefix is not None:
                found.append(s.get("items") if "prefixItems" in s else s.get("additionalItems"))
            elif "items" in s:
                found.append(s["items"])
        return found
