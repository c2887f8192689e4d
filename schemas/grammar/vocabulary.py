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
}  # fmt: skip
UNENFORCEABLE = {
    "if", "then", "else",
    "unevaluatedProperties", "unevaluatedItems", "contains", "minContains", "maxContains",
    "$dynamicRef", "$dynamicAnchor", "$recursiveRef", "$recursiveAnchor",
}  # fmt: skip
