"""A JSON Schema rewritten into the subset that strict structured outputs accept (OpenAI's
`response_format` json_schema with `strict: true`; vLLM and Ollama take the same), and the
way back from an answer to the original schema.

The rules, from OpenAI's guide "Structured Outputs: supported schemas" (the list has grown
over time; it is kept here, in `STRICT_KEYWORDS` and `STRICT_FORMATS`, and nowhere else):
- the root is an object and not an `anyOf`;
- every object lists all its properties in `required` and has `additionalProperties:
  false`: an optional property becomes required and nullable, and a null in the answer then
  means "left out" (`StrictSchema.restore` removes it before validation);
- only the keywords below; every other one (maxLength, minLength, default, uniqueItems, not,
  a format outside the list, ...) is moved into the `description`, as text the model reads,
  and the answer is validated against the original schema afterwards (`models.structured`);
  `oneOf` becomes `anyOf` (validation keeps it exact) and a one-entry `allOf` is merged in;
- at most `MAX_PROPERTIES` properties, `MAX_DEPTH` levels of nesting, `MAX_ENUM_VALUES`.
What strict mode cannot say (a free-form object, a map, tuples, several `allOf` entries,
pattern properties, outside references) raises `NotStrict`; the caller then sends the schema
as `json_object` and validates the answer just the same.
"""

import copy
import json
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

from jsonschema import validators

from models.chat_model import ModelError, Schema
from models.structured import json_schema

STRICT_KEYWORDS = frozenset(
    {
        # any schema
        "type", "description", "title", "enum", "const", "anyOf", "$ref", "$defs",
        # objects and arrays
        "properties", "required", "additionalProperties", "items", "minItems", "maxItems",
        # strings
        "pattern", "format",
        # numbers
        "multipleOf", "minimum", "maximum", "exclusiveMinimum", "exclusiveMaximum",
    }
)  # fmt: skip
STRICT_FORMATS = frozenset(
    {"date-time", "time", "date", "duration", "email", "hostname", "ipv4", "ipv6", "uuid"}
)
MAX_PROPERTIES, MAX_DEPTH, MAX_ENUM_VALUES = 5000, 10, 1000
# Keywords whose loss would change the shape of an answer, not only narrow it: moving them
# into the description cannot work, so a schema holding them is not strict.
SHAPE_KEYWORDS = frozenset(
    {
        "patternProperties", "prefixItems", "additionalItems", "unevaluatedProperties",
        "unevaluatedItems", "$dynamicRef", "$recursiveRef", "definitions",
    }
)  # fmt: skip
DROPPED = frozenset({"$schema", "$id", "$comment"})  # about the document, not the answer
DEFS = "#/$defs/"


class NotStrict(ModelError):
    """The schema cannot be said in the strict subset; the message says what stops it."""


@dataclass(frozen=True)
class StrictSchema:
    """The strict form of `original`, and what was moved out of it into descriptions."""

    schema: dict[str, Any]
    original: dict[str, Any]
    moved: tuple[str, ...]

    def restore(self, text: str) -> str:
        """The answer as an instance of the original schema: a null where the original has
        an optional, non-nullable property means that the property was left out. Text that
        is not JSON is returned as it is, for validation to report."""
        try:
            value = json.loads(text)
        except json.JSONDecodeError:
            return text
        _drop_absent(value, [self.original], _validator(json.dumps(self.original)))
        return json.dumps(value, ensure_ascii=False)


def strict_schema(schema: Schema) -> StrictSchema:
    """The strict form of a Pydantic class or JSON Schema (cached); NotStrict if none."""
    key = schema if isinstance(schema, type) else json.dumps(schema, sort_keys=True)
    return _strict(key)


@lru_cache(maxsize=256)
def _strict(key: Any) -> StrictSchema:
    original = json_schema(key if isinstance(key, type) else json.loads(key))
    rewriter = _Rewriter(original)
    body = {k: v for k, v in copy.deepcopy(original).items() if k != "$defs"}
    ref = body.get("$ref")
    if isinstance(ref, str) and ref.startswith(DEFS) and ref[len(DEFS) :] in rewriter.defs:
        # a recursive model's root (Pydantic): its definition, which the rest refers to
        body = {**copy.deepcopy(rewriter.defs[body.pop("$ref")[len(DEFS) :]]), **body}
    root = rewriter.node(body, "(root)", depth=0)
    if root.get("type") != "object" or "anyOf" in root:
        raise NotStrict("strict mode needs an object at the root")
    defs = {name: rewriter.node(d, f"$defs/{name}", 0) for name, d in rewriter.defs.items()}
    if used := _referenced(root, defs):  # definitions inlined everywhere are left out
        root["$defs"] = {name: defs[name] for name in defs if name in used}
    rewriter.check_limits()
    return StrictSchema(root, original, tuple(rewriter.moved))


class _Rewriter:
    def __init__(self, original: dict[str, Any]) -> None:
        self.defs: dict[str, Any] = copy.deepcopy(original.get("$defs", {}))
        self.moved: list[str] = []
        self.inlining: set[str] = set()
        self.properties = self.enum_values = 0

    def node(self, node: Any, path: str, depth: int) -> dict[str, Any]:
        if node is True or node == {}:
            raise NotStrict(f"{path} admits any value")
        if not isinstance(node, dict):
            raise NotStrict(f"{path} is not a schema object")
        if depth > MAX_DEPTH:
            raise NotStrict(f"{path} is nested deeper than {MAX_DEPTH} levels")
        node = self._merge_all_of(node, path)
        if shape := sorted(SHAPE_KEYWORDS & node.keys()):
            raise NotStrict(f"{path} uses {shape[0]}")
        ref = node.get("$ref")
        if ref is not None:
            return self._ref(node, ref, path, depth)
        if "oneOf" in node:
            node["anyOf"] = node.pop("oneOf") + node.pop("anyOf", [])
        self._move_unsupported(node, path)
        self.enum_values += len(node.get("enum", []))
        if "anyOf" in node:
            node["anyOf"] = [
                self.node(branch, f"{path}/anyOf/{i}", depth + 1)
                for i, branch in enumerate(node["anyOf"])
            ]
        types = node.get("type")
        if isinstance(types, list) and len([t for t in types if t != "null"]) > 1:
            raise NotStrict(f"{path} has several types; use anyOf")
        if types == "object" or (isinstance(types, list) and "object" in types):
            self._object(node, path, depth)
        if "items" in node:
            node["items"] = self.node(node["items"], f"{path}/items", depth + 1)
        elif types == "array":
            raise NotStrict(f"{path} is an array without items")
        return node

    def _merge_all_of(self, node: dict[str, Any], path: str) -> dict[str, Any]:
        all_of = node.pop("allOf", None)
        if all_of is None:
            return node
        if len(all_of) != 1 or not isinstance(all_of[0], dict):
            raise NotStrict(f"{path} uses allOf with {len(all_of)} entries")
        clash = (all_of[0].keys() & node.keys()) - {"description", "title"}
        if clash:
            raise NotStrict(f"{path} sets {sorted(clash)[0]} beside allOf")
        return {**all_of[0], **node}

    def _ref(self, node: dict[str, Any], ref: str, path: str, depth: int) -> dict[str, Any]:
        name = ref[len(DEFS) :]
        if not ref.startswith(DEFS) or name not in self.defs:
            raise NotStrict(f"{path} refers to {ref}, outside this schema's $defs")
        siblings = {k: v for k, v in node.items() if k != "$ref"}
        if not siblings:
            return node
        if name in self.inlining:  # a definition inside itself: the bare reference
            self._note(path, siblings)
            return {"$ref": ref}
        # strict mode takes a $ref alone: the definition is inlined with what sat beside
        # it (a field's description, a bound), and that is rewritten like any schema
        self.inlining.add(name)
        try:
            return self.node({**copy.deepcopy(self.defs[name]), **siblings}, path, depth)
        finally:
            self.inlining.discard(name)

    def _object(self, node: dict[str, Any], path: str, depth: int) -> None:
        properties: dict[str, Any] = node.get("properties", {})
        # left open, an object with properties is closed here; one without any stays free
        extra = node.get("additionalProperties", not properties)
        if extra is not False:
            what = "a map (additionalProperties)" if properties or extra is not True else "free"
            raise NotStrict(f"{path} is {what}: strict objects name every property")
        required = set(node.get("required", []))
        if unknown := sorted(required - properties.keys()):
            raise NotStrict(f"{path} requires {unknown[0]}, which it does not define")
        self.properties += len(properties)
        for name, schema in properties.items():
            strict = self.node(schema, f"{path}/{name}", depth + 1)
            if name not in required and not self._admits_null(strict):
                strict = {"anyOf": [strict, {"type": "null"}]}
            properties[name] = strict
        node["properties"], node["required"] = properties, list(properties)
        node["additionalProperties"] = False

    def _admits_null(self, node: dict[str, Any]) -> bool:
        types = node.get("type")
        if types == "null" or (isinstance(types, list) and "null" in types):
            return True
        if "const" in node:
            return node["const"] is None
        if None in node.get("enum", [0]):
            return True
        ref = node.get("$ref", "")
        if ref.startswith(DEFS) and ref[len(DEFS) :] in self.defs:
            target = self.defs[ref[len(DEFS) :]]
            return isinstance(target, dict) and target is not node and self._admits_null(target)
        return any(self._admits_null(b) for b in node.get("anyOf", []) if isinstance(b, dict))

    def _move_unsupported(self, node: dict[str, Any], path: str) -> None:
        for key in DROPPED & node.keys():
            del node[key]
        moved = {k: node.pop(k) for k in list(node) if k not in STRICT_KEYWORDS}
        if node.get("format") not in (None, *STRICT_FORMATS):
            moved["format"] = node.pop("format")
        if moved:
            self._note(path, moved)
            text = "; ".join(f"{k}: {json.dumps(v, ensure_ascii=False)}" for k, v in moved.items())
            node["description"] = f"{node.get('description', '')} ({text})".strip()

    def _note(self, path: str, keywords: dict[str, Any]) -> None:
        self.moved.extend(f"{path}: {k}" for k in keywords)

    def check_limits(self) -> None:
        if self.properties > MAX_PROPERTIES:
            raise NotStrict(f"{self.properties} properties, over strict mode's {MAX_PROPERTIES}")
        if self.enum_values > MAX_ENUM_VALUES:
            raise NotStrict(f"{self.enum_values} enum values, over strict mode's limit")


def _referenced(root: dict[str, Any], defs: dict[str, Any]) -> set[str]:
    """The definitions that `root` refers to, directly or through other definitions."""
    used: set[str] = set()
    pending = [root]
    while pending:
        text = json.dumps(pending.pop())
        for name in defs:
            if name not in used and json.dumps(DEFS + name) in text:
                used.add(name)
                pending.append(defs[name])
    return used


# -- from the strict answer back to the original schema -----------------------------------


@lru_cache(maxsize=256)
def _validator(original: str) -> Any:
    schema = json.loads(original)
    return validators.validator_for(schema)(schema)


def _drop_absent(value: Any, schemas: list[Any], validator: Any) -> None:
    """Remove, in place, the nulls that stand for left-out properties: a null under a key
    that no candidate schema requires or lets be null. `schemas` are the schemas that may
    describe `value` (the branches of a union all count)."""
    candidates = _candidates(schemas, validator)
    if isinstance(value, dict):
        for key in [k for k, v in value.items() if v is None]:
            declaring = [s for s in candidates if key in s.get("properties", {})]
            if declaring and not any(_null_allowed(s, key, validator) for s in declaring):
                del value[key]
        for key, item in value.items():
            below = [s["properties"][key] for s in candidates if key in s.get("properties", {})]
            _drop_absent(item, below, validator)
    elif isinstance(value, list):
        below = [s["items"] for s in candidates if isinstance(s.get("items"), dict)]
        for item in value:
            _drop_absent(item, below, validator)


def _candidates(schemas: list[Any], validator: Any) -> list[dict[str, Any]]:
    """The schemas with references resolved and union and allOf branches spread out."""
    found: list[dict[str, Any]] = []
    queue = [s for s in schemas if isinstance(s, dict)]
    while queue and len(found) < 64:  # a recursive schema spreads out without end
        schema = queue.pop(0)
        if isinstance(schema.get("$ref"), str) and schema["$ref"].startswith(DEFS):
            target = validator.schema.get("$defs", {}).get(schema["$ref"][len(DEFS) :])
            queue += [target] if isinstance(target, dict) else []
        for key in ("anyOf", "oneOf", "allOf"):
            queue += [b for b in schema.get(key, []) if isinstance(b, dict)]
        found.append(schema)
    return found


def _null_allowed(schema: dict[str, Any], key: str, validator: Any) -> bool:
    if key in schema.get("required", []):
        return True
    return bool(validator.evolve(schema=schema["properties"][key]).is_valid(None))
