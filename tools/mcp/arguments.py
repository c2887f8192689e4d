"""The schema an MCP tool's arguments are decoded under: its `inputSchema`, objects closed.

JSON Schema leaves an object open to undeclared keys unless it says otherwise, and most
MCP servers say nothing; a small model then wanders into keys nobody asked for until it
runs out of tokens. Closing every object that declares properties (additionalProperties:
false, where it sets nothing about other keys) only narrows the schema: every instance of
the closed schema is still valid for the server. A schema that combines objects with
`allOf` is left open, because closing its parts one by one would make them contradict.
"""

from typing import Any

OTHER_KEYS = ("additionalProperties", "patternProperties", "unevaluatedProperties")
SCHEMA_MAPS = ("properties", "patternProperties", "$defs", "definitions", "dependentSchemas")
SCHEMA_LISTS = ("anyOf", "oneOf", "prefixItems", "items")  # items: a list in older drafts
SCHEMA_VALUES = ("items", "additionalProperties", "additionalItems", "not", "propertyNames")


def argument_schema(input_schema: dict[str, Any]) -> dict[str, Any]:
    """`input_schema` with its objects closed to their declared properties."""
    return input_schema if _uses_all_of(input_schema) else _closed(input_schema)


def _closed(schema: Any) -> Any:
    if not isinstance(schema, dict):
        return schema
    out = dict(schema)
    for key in SCHEMA_MAPS:
        if isinstance(schema.get(key), dict):
            out[key] = {name: _closed(sub) for name, sub in schema[key].items()}
    for key in SCHEMA_LISTS:
        if isinstance(schema.get(key), list):
            out[key] = [_closed(sub) for sub in schema[key]]
    for key in SCHEMA_VALUES:
        if isinstance(schema.get(key), dict):
            out[key] = _closed(schema[key])
    if "properties" in schema and not any(key in schema for key in OTHER_KEYS):
        out["additionalProperties"] = False
    return out


def _uses_all_of(schema: Any) -> bool:
    if isinstance(schema, dict):
        return "allOf" in schema or any(_uses_all_of(v) for v in schema.values())
    if isinstance(schema, list):
        return any(_uses_all_of(v) for v in schema)
    return False
