"""The JSON Schema keywords, sorted by what a grammar does with them."""

ANNOTATIONS = {
    "title", "description", "default", "examples", "example", "$schema", "$id", "id",
    "$comment", "readOnly", "writeOnly", "deprecated", "contentEncoding", "contentMediaType",
    "contentSchema", "discriminator", "$anchor", "$vocabulary", "$defs", "definitions",
}  # fmt: skip
DEPENDENCIES = ("dependencies", "dependentRequired", "dependentSchemas")
ENFORCED = {
    "type", "enum", "const", "$ref", "allOf", "anyOf", "oneOf", "not",
    "properties", "required", "additionalProperties", "patternProperties", "propertyNames",
    "minProperties", "maxProperties", "items", "prefixItems", "additionalItems", "minItems",
    "maxItems", "uniqueItems", "minLength", "maxLength", "pattern", "format", "minimum",
    "maximum", "exclusiveMinimum", "exclusiveMaximum", "multipleOf", *DEPENDENCIES,
    "if", "then", "else", "unevaluatedProperties", "unevaluatedItems", "contains",
    "minContains", "maxContains",
}  # fmt: skip
UNENFORCEABLE = {"$dynamicRef", "$dynamicAnchor", "$recursiveRef", "$recursiveAnchor"}
# Rewritten into other keywords before compiling (rewrite.py), in the order a refusal names.
REWRITTEN = ("unevaluatedProperties", "unevaluatedItems", "if", "then", "else", *DEPENDENCIES)
# The compiler's own keywords for the complements negation.py leaves to it.
INTERNAL = {
    "x-not-strings", "x-not-patterns", "x-patterns", "x-fraction", "x-extra-min",
    "x-extra-exclude",
}  # fmt: skip


def siblings(schema: dict, key: str) -> dict:
    """The keywords beside `key` that constrain an instance (annotations left out): what
    each branch of a union meets, or what a `$ref` target is merged with."""
    return {k: v for k, v in schema.items() if k != key and k not in ANNOTATIONS}
