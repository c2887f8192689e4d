"""Pydantic model or JSON Schema → GBNF grammar for llama.cpp.

Principles:
- the grammar admits the canonical serialization of every valid instance (declared
  property order, the configured whitespace, `json.dumps` string escaping, no exponents)
  and nothing that is invalid, wherever the schema can be expressed as a grammar;
- every string and array is bounded (its own max, or the configured cap);
- fail closed: a validation keyword the grammar cannot enforce raises `GrammarError`
  naming the keyword and its JSON path. Keywords outside the JSON Schema vocabulary are
  annotations by the specification; they are reported in `Grammar.warnings`
  (errors with `strict=True`).
"""

import json
import math
import re
from collections.abc import Iterable
from decimal import Decimal
from fractions import Fraction
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from schemas.errors import WaypointError
from schemas.grammar import formats, json_text, numbers
from schemas.grammar.gbnf import Rules, alternatives, literal, repeat
from schemas.grammar.regex import RegexError, compile_pattern

REPETITION_LIMIT = 1999  # llama.cpp refuses repetition counts above 2,000
ALL_TYPES = ("null", "boolean", "object", "array", "string", "number")

ANNOTATIONS = {
    "title", "description", "default", "examples", "example", "$schema", "$id", "id",
    "$comment", "readOnly", "writeOnly", "deprecated", "contentEncoding", "contentMediaType",
    "contentSchema", "discriminator", "$anchor", "$vocabulary", "$defs", "definitions",
}  # fmt: skip
ENFORCED = {
    "type", "enum", "const", "$ref", "allOf", "anyOf", "oneOf", "not",
    "properties", "required", "additionalProperties", "patternProperties", "propertyNames",
    "minProperties", "maxProperties", "items", "prefixItems", "additionalItems", "minItems",
    "maxItems", "uniqueItems", "minLength", "maxLength", "pattern", "format", "minimum",
    "maximum", "exclusiveMinimum", "exclusiveMaximum", "multipleOf",
}  # fmt: skip
UNENFORCEABLE = {
    "if", "then", "else", "dependencies", "dependentRequired", "dependentSchemas",
    "unevaluatedProperties", "unevaluatedItems", "contains", "minContains", "maxContains",
    "$dynamicRef", "$dynamicAnchor", "$recursiveRef", "$recursiveAnchor",
}  # fmt: skip


class GrammarError(WaypointError):
    """The schema cannot be compiled: names what and where (a JSON pointer)."""

    def __init__(self, message: str, path: str = "#") -> None:
        super().__init__(f"{message} at {path}")
        self.path = path


class GrammarOptions(BaseModel):
    model_config = ConfigDict(frozen=True)

    whitespace: Literal["compact", "flexible"] = "compact"
    max_whitespace: int = Field(4, ge=1, le=64, description="flexible: whitespace run cap")
    max_string_length: int = Field(512, ge=1, le=REPETITION_LIMIT)
    max_items: int = Field(64, ge=1, le=REPETITION_LIMIT)
    max_properties: int = Field(32, ge=1, le=REPETITION_LIMIT, description="extra keys cap")
    max_integer_digits: int = Field(20, ge=1, le=100)
    max_fraction_digits: int = Field(20, ge=1, le=100)
    additional_properties: bool | None = Field(
        None, description="None: closed for Pydantic models, as the spec says for JSON Schema"
    )
    strict: bool = Field(False, description="refuse keywords outside the JSON Schema vocabulary")


class Grammar(BaseModel):
    gbnf: str
    root: str = "root"
    warnings: list[str] = Field(default_factory=list)


def compile_grammar(
    schema: type[BaseModel] | dict[str, Any] | bool, options: GrammarOptions | None = None
) -> Grammar:
    """Compile a Pydantic model class or a JSON Schema to a GBNF grammar."""
    options = options or GrammarOptions()
    closed_default = False
    if isinstance(schema, type) and issubclass(schema, BaseModel):
        schema = schema.model_json_schema()
        closed_default = True
    if options.additional_properties is not None:
        closed_default = not options.additional_properties
    if not isinstance(schema, dict | bool):
        raise GrammarError(f"a schema must be an object or a boolean, not {type(schema).__name__}")
    compiler = _Compiler(schema, options, closed_default)
    return compiler.run()


def _path(path: str, *parts: Any) -> str:
    for p in parts:
        path += "/" + str(p).replace("~", "~0").replace("/", "~1")
    return path


def canonical_value_json(value: Any) -> str:
    """A JSON value in canonical compact form (integral floats written as integers)."""
    return json.dumps(normalize_numbers(value), ensure_ascii=False, separators=(",", ":"))


def normalize_numbers(value: Any) -> Any:
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if isinstance(value, float):
        return _PlainFloat(value)
    if isinstance(value, dict):
        return {k: normalize_numbers(v) for k, v in value.items()}
    if isinstance(value, list):
        return [normalize_numbers(v) for v in value]
    return value


class _PlainFloat(float):
    """A float that json.dumps writes without an exponent."""

    def __repr__(self) -> str:
        text = format(Decimal(float.__repr__(self)), "f")
        return text


class _Compiler:
    def __init__(self, root: dict | bool, options: GrammarOptions, closed: bool) -> None:
        self.root = root
        self.opt = options
        self.closed = closed
        self.rules = Rules()
        self.refs: dict[str, str] = {}
        self.warnings: list[str] = []
        ws = options.whitespace == "flexible"
        self.ws = self.rules.add("ws", f"[ \\t\\n]{{0,{options.max_whitespace}}}") if ws else ""

    # -- entry -------------------------------------------------------------------------

    def run(self) -> Grammar:
        root_name = self.rules.reserve("root")
        body = self.visit(self.root, "#")
        self.rules.define(root_name, body)
        return Grammar(gbnf=self.rules.render(), warnings=self.warnings)

    def punct(self, char: str) -> str:
        """A structural character, with optional whitespace around it."""
        if not self.ws:
            return literal(char)
        if char in "{[":
            return f"{literal(char)} {self.ws}"
        if char in "}]":
            return f"{self.ws} {literal(char)}"
        return f"{self.ws} {literal(char)} {self.ws}"

    # -- dispatch ----------------------------------------------------------------------

    def visit(self, schema: Any, path: str) -> str:
        if schema is True or schema == {}:
            return self.any_value()
        if schema is False:
            raise GrammarError("the schema 'false' matches nothing", path)
        if not isinstance(schema, dict):
            raise GrammarError(f"a schema must be an object or a boolean, got {schema!r}", path)
        self.check_keywords(schema, path)
        if "$ref" in schema:
            rest = {k: v for k, v in schema.items() if k != "$ref" and k not in ANNOTATIONS}
            if not rest:
                return self.ref(schema["$ref"], path)
            return self.visit(self.merge([self.deref(schema["$ref"], path), rest], path), path)
        if "allOf" in schema:
            parts = [self.deref_schema(s, _path(path, "allOf", i)) for i, s in enumerate(schema["allOf"])]
            rest = {k: v for k, v in schema.items() if k != "allOf"}
            return self.visit(self.merge([rest, *parts], path), path)
        for key in ("anyOf", "oneOf"):
            if key in schema:
                return self.union(schema, key, path)
        if "not" in schema:
            schema = self.apply_not(schema, path)
        if "enum" in schema or "const" in schema:
            return self.enum(schema, path)
        return self.typed(schema, path)

    def check_keywords(self, schema: dict, path: str) -> None:
        for key in schema:
            if key in ENFORCED or key in ANNOTATIONS:
                continue
            if key in UNENFORCEABLE:
                raise GrammarError(f"keyword '{key}' cannot be enforced by a grammar", _path(path, key))
            if self.opt.strict:
                raise GrammarError(f"unknown keyword '{key}'", _path(path, key))
            self.warnings.append(f"ignored unknown keyword '{key}' at {_path(path, key)}")

    # -- references --------------------------------------------------------------------

    def ref(self, ref: str, path: str) -> str:
        if ref not in self.refs:
            name = self.rules.reserve(ref.rsplit("/", 1)[-1] or "root-ref")
            self.refs[ref] = name
            self.rules.define(name, self.visit(self.deref(ref, path), ref))
        return self.refs[ref]

    def deref(self, ref: str, path: str) -> Any:
        return resolve_ref(self.root, ref, path)

    def deref_schema(self, schema: Any, path: str, depth: int = 0) -> Any:
        """Inline a top-level $ref (for merging); recursion guarded."""
        if not isinstance(schema, dict) or "$ref" not in schema:
            return schema
        if depth > 16:
            raise GrammarError("allOf over a recursive reference", path)
        target = self.deref_schema(self.deref(schema["$ref"], path), path, depth + 1)
        rest = {k: v for k, v in schema.items() if k != "$ref"}
        return self.merge([target, rest], path) if rest else target

    # -- composition -------------------------------------------------------------------

    def merge(self, parts: list[Any], path: str) -> Any:
        """Intersect schemas (allOf) into one schema where the keywords allow it."""
        out: dict[str, Any] = {}
        for part in parts:
            if part is True:
                continue
            if part is False:
                return False
            part = self.deref_schema(part, path)
            if isinstance(part, dict) and "allOf" in part:
                nested = [self.deref_schema(s, path) for s in part["allOf"]]
                part = self.merge([{k: v for k, v in part.items() if k != "allOf"}, *nested], path)
                if part is False:
                    return False
            out = _merge_two(out, part, path)
        return out

    def union(self, schema: dict, key: str, path: str) -> str:
        branches = schema[key]
        if not isinstance(branches, list) or not branches:
            raise GrammarError(f"'{key}' needs a non-empty list", _path(path, key))
        base = {k: v for k, v in schema.items() if k != key}
        options = []
        for i, branch in enumerate(branches):
            merged = self.merge([base, branch], _path(path, key, i)) if base else branch
            if merged is False:
                continue
            try:
                options.append(self.visit(merged, _path(path, key, i)))
            except GrammarError as e:
                if "matches nothing" not in str(e):
                    raise
        if not options:
            raise GrammarError(f"no branch of '{key}' can match", _path(path, key))
        if key == "oneOf" and len(options) > 1 and not _disjoint(branches, self):
            self.warnings.append(
                f"oneOf at {path} is enforced as anyOf: an instance matching several branches "
                "is not excluded"
            )
        return self.rules.add(path.rsplit("/", 1)[-1] + "-" + key, alternatives(options))

    def apply_not(self, schema: dict, path: str) -> dict:
        """The forms of 'not' a grammar can express, folded into the schema."""
        neg = self.deref_schema(schema["not"], _path(path, "not"))
        rest = {k: v for k, v in schema.items() if k != "not"}
        keys = set(neg) - ANNOTATIONS if isinstance(neg, dict) else set()
        if neg is True or keys == set():
            raise GrammarError("the schema matches nothing ('not' of everything)", path)
        if neg is False:
            return rest
        if keys == {"type"}:
            removed = {neg["type"]} if isinstance(neg["type"], str) else set(neg["type"])
            allowed = [t for t in _types(rest) if t not in removed]
            if "number" in allowed and "integer" in removed:
                raise GrammarError("'not integer' on numbers cannot be enforced", _path(path, "not"))
            if not allowed:
                raise GrammarError("the schema matches nothing ('not' removes every type)", path)
            return {**rest, "type": allowed}
        if keys <= {"enum", "const"} and _types(rest) == ["string"]:
            values = neg.get("enum", []) + ([neg["const"]] if "const" in neg else [])
            return {**rest, "x-not-strings": [v for v in values if isinstance(v, str)]}
        if keys == {"required"} and len(neg["required"]) == 1 and _types(rest) == ["object"]:
            name = neg["required"][0]
            if name in rest.get("required", []):
                raise GrammarError("the schema matches nothing (required and forbidden)", path)
            return {**rest, "properties": {**rest.get("properties", {}), name: False}}
        raise GrammarError("this form of 'not' cannot be enforced by a grammar", _path(path, "not"))

    # -- values ------------------------------------------------------------------------

    def enum(self, schema: dict, path: str) -> str:
        values = [schema["const"]] if "const" in schema else schema["enum"]
        if "const" in schema and "enum" in schema:
            values = [v for v in schema["enum"] if _same(v, schema["const"])]
        if not isinstance(values, list):
            raise GrammarError("'enum' needs a list", _path(path, "enum"))
        values = [v for v in values if _value_fits(v, schema)]
        if not values:
            raise GrammarError("the schema matches nothing (no enum value fits)", path)
        return self.rules.add(
            path.rsplit("/", 1)[-1] + "-enum",
            alternatives([literal(canonical_value_json(v)) for v in values]),
        )

    def typed(self, schema: dict, path: str) -> str:
        options = []
        for t in _types(schema):
            try:
                options.append(self.one_type(t, schema, path))
            except numbers.Unsatisfiable as e:
                if len(_types(schema)) == 1:
                    raise GrammarError(f"the schema matches nothing ({e})", path) from e
        if not options:
            raise GrammarError("the schema matches nothing", path)
        if len(options) == 1:
            return options[0]
        return self.rules.add(path.rsplit("/", 1)[-1] + "-value", alternatives(options))

    def one_type(self, t: str, schema: dict, path: str) -> str:
        if t == "null":
            return '"null"'
        if t == "boolean":
            return self.rules.add("boolean", '"true" | "false"')
        if t in ("integer", "number"):
            return self.number(schema, path, integer=t == "integer")
        if t == "string":
            return self.string(schema, path)
        if t == "array":
            return self.array(schema, path)
        if t == "object":
            return self.object(schema, path)
        raise GrammarError(f"unknown type {t!r}", _path(path, "type"))

    # -- strings -----------------------------------------------------------------------

    def string(self, schema: dict, path: str) -> str:
        lo = _nonneg_int(schema.get("minLength", 0), _path(path, "minLength"))
        hi = schema.get("maxLength")
        hi = None if hi is None else _nonneg_int(hi, _path(path, "maxLength"))
        if hi is not None and hi < lo:
            raise GrammarError("the schema matches nothing (maxLength < minLength)", path)
        if hi is not None and hi > REPETITION_LIMIT:
            self.warnings.append(f"maxLength {hi} at {path} capped at {REPETITION_LIMIT}")
            hi = REPETITION_LIMIT
        if lo > REPETITION_LIMIT:
            raise GrammarError(f"minLength {lo} exceeds the grammar limit", _path(path, "minLength"))
        if "x-not-strings" in schema:
            if "pattern" in schema or "format" in schema:
                raise GrammarError("'not' with pattern/format cannot be enforced", _path(path, "not"))
            cap = hi if hi is not None else max(lo, self.opt.max_string_length)
            body = _not_strings(schema["x-not-strings"], lo, cap)
            return self.rules.add(path.rsplit("/", 1)[-1] + "-string", f'"\\"" {body} "\\""')
        content = self.string_content(schema, lo, hi, path)
        return self.rules.add(path.rsplit("/", 1)[-1] + "-string", f'"\\"" {content} "\\""')

    def string_content(self, schema: dict, lo: int, hi: int | None, path: str) -> str:
        pattern, fmt = schema.get("pattern"), schema.get("format")
        if pattern is not None:
            if fmt is not None and fmt in formats.FORMATS:
                raise GrammarError("pattern together with format cannot be enforced", _path(path, "pattern"))
            try:
                compiled = compile_pattern(pattern, self.opt.max_string_length)
            except RegexError as e:
                raise GrammarError(f"pattern: {e}", _path(path, "pattern")) from e
            fits_lo = compiled.min_length >= lo
            fits_hi = hi is None or (compiled.max_length is not None and compiled.max_length <= hi)
            if not (fits_lo and fits_hi):
                raise GrammarError(
                    "pattern together with minLength/maxLength cannot be enforced", _path(path, "pattern")
                )
            return compiled.expr
        if fmt is not None:
            if fmt in formats.FORMATS:
                if lo or hi is not None:
                    raise GrammarError("format together with a length bound cannot be enforced", _path(path, "format"))
                return self.rules.add(f"{fmt}-format", formats.FORMATS[fmt].replace("CAP", str(self.opt.max_string_length)))
            self.warnings.append(f"format '{fmt}' at {path} is not enforced (annotation)")
        char = self.rules.add("char", json_text.STRING_CHAR)
        return repeat(char, lo, hi if hi is not None else max(lo, self.opt.max_string_length))

    # -- numbers -----------------------------------------------------------------------

    def number(self, schema: dict, path: str, integer: bool) -> str:
        lo, lo_strict, hi, hi_strict = _bounds(schema, path)
        k = schema.get("multipleOf")
        if k is not None:
            if not isinstance(k, int | float) or isinstance(k, bool) or k <= 0:
                raise GrammarError("multipleOf must be a positive number", _path(path, "multipleOf"))
            step = Fraction(str(k))
            if integer or step.denominator == 1:
                return self.multiple(step.numerator, lo, lo_strict, hi, hi_strict, path)
            digits = _power_of_ten_digits(step)
            if digits is None:
                raise GrammarError(f"multipleOf {k} cannot be enforced", _path(path, "multipleOf"))
            return self.decimal(lo, lo_strict, hi, hi_strict, path, fraction_digits=digits)
        if integer:
            ilo, ihi = _integer_bounds(lo, lo_strict, hi, hi_strict)
            body = numbers.integer(ilo, ihi, self.opt.max_integer_digits)
            return self.rules.add(path.rsplit("/", 1)[-1] + "-integer", body)
        return self.decimal(lo, lo_strict, hi, hi_strict, path)

    def multiple(self, k: int, lo, lo_strict, hi, hi_strict, path: str) -> str:
        ilo, ihi = _integer_bounds(lo, lo_strict, hi, hi_strict)
        try:
            body = numbers.multiple_of(k, ilo, ihi, self.opt.max_integer_digits)
        except numbers.Unsatisfiable:
            raise
        except ValueError as e:  # a form the automaton does not cover
            raise GrammarError(f"multipleOf {k}: {e}", _path(path, "multipleOf")) from e
        return self.rules.add(path.rsplit("/", 1)[-1] + "-multiple", body)

    def decimal(self, lo, lo_strict, hi, hi_strict, path: str, fraction_digits: int | None = None) -> str:
        frac = fraction_digits if fraction_digits is not None else self.opt.max_fraction_digits
        if lo is None and hi is None and fraction_digits is None:
            body = (
                f"{numbers.integer(None, None, self.opt.max_integer_digits)} "
                f'("." [0-9]{{1,{frac}}})? ([eE] [-+]? [0-9]{{1,3}})?'
            )
        else:
            body = numbers.decimal(lo, lo_strict, hi, hi_strict, self.opt.max_integer_digits, frac)
        return self.rules.add(path.rsplit("/", 1)[-1] + "-number", body)

    # -- arrays ------------------------------------------------------------------------

    def array(self, schema: dict, path: str) -> str:
        lo = _nonneg_int(schema.get("minItems", 0), _path(path, "minItems"))
        hi = schema.get("maxItems")
        hi = None if hi is None else _nonneg_int(hi, _path(path, "maxItems"))
        if schema.get("uniqueItems") is True and (hi is None or hi > 1):
            raise GrammarError("'uniqueItems' cannot be enforced by a grammar", _path(path, "uniqueItems"))
        items = schema.get("items", True)
        if "prefixItems" in schema:
            prefix, rest, rest_key = schema["prefixItems"], items, "items"
        elif isinstance(items, list):
            prefix, rest, rest_key = items, schema.get("additionalItems", True), "additionalItems"
        else:
            prefix, rest, rest_key = [], items, "items"
        prefix_exprs = [self.visit(s, _path(path, "prefixItems" if "prefixItems" in schema else "items", i))
                        for i, s in enumerate(prefix)]  # fmt: skip
        if hi is not None and hi < lo:
            raise GrammarError("the schema matches nothing (maxItems < minItems)", path)
        if hi is None:
            hi = max(lo, len(prefix) + self.opt.max_items) if rest is not False else len(prefix)
        if hi > REPETITION_LIMIT:
            self.warnings.append(f"maxItems {hi} at {path} capped at {REPETITION_LIMIT}")
            hi = REPETITION_LIMIT
        hi = min(hi, len(prefix)) if rest is False else hi
        if lo > hi:
            raise GrammarError("the schema matches nothing (too few items allowed)", path)
        rest_expr = self.visit(rest, _path(path, rest_key)) if rest is not False and hi > len(prefix) else None
        body = self.item_sequence(prefix_exprs, rest_expr, lo, hi)
        return self.rules.add(path.rsplit("/", 1)[-1] + "-array", body)

    def item_sequence(self, prefix: list[str], rest: str | None, lo: int, hi: int) -> str:
        """`[` items `]` with lo..hi items: prefix items first, then `rest` repeated."""
        comma, p = self.punct(","), len(prefix)
        if p == 0:
            if rest is None or hi == 0:
                return f"{self.punct('[')} {self.punct(']')}"
            body = _cat(rest, repeat(f"({comma} {rest})", max(lo - 1, 0), hi - 1))
            body = body if lo > 0 else f"({body})?"
            return f"{self.punct('[')} {body} {self.punct(']')}"
        # Built from the back: tail is what may follow the first i items.
        tail = repeat(f"({comma} {rest})", max(lo - p, 0), hi - p) if rest is not None and hi > p else '""'
        for i in range(min(p, hi) - 1, -1, -1):
            item = _cat(comma, prefix[i]) if i > 0 else prefix[i]
            seq = _cat(item, tail)
            tail = seq if i < lo else f"({seq})?"
        return f"{self.punct('[')} {tail} {self.punct(']')}".replace(' "" ', " ")

    # -- objects -----------------------------------------------------------------------

    def object(self, schema: dict, path: str) -> str:
        props: dict[str, Any] = dict(schema.get("properties", {}))
        required = list(dict.fromkeys(schema.get("required", [])))
        additional = schema.get("additionalProperties", not self.closed)
        patterns = schema.get("patternProperties", {})
        if patterns and additional is not False:
            raise GrammarError(
                "patternProperties with other extra keys allowed cannot be enforced",
                _path(path, "patternProperties"),
            )
        for name in required:  # a required name without a declared schema
            if name not in props:
                props[name] = _pattern_schema(name, patterns, additional)
        names = self.allowed_names(props, schema.get("propertyNames"), required, path)
        slots = []
        for name in names:
            sub = props[name]
            if sub is False:
                if name in required:
                    raise GrammarError(f"the schema matches nothing (required '{name}' is false)", path)
                continue
            value = self.visit(sub, _path(path, "properties", name))
            key = literal(json.dumps(name, ensure_ascii=False))
            slots.append((f"{key} {self.punct(':')} {value}", name in required))
        extra = self.extra_property(schema, props, additional, patterns, path)
        n_req = sum(1 for _, req in slots if req)
        n_opt = len(slots) - n_req
        lo = _nonneg_int(schema.get("minProperties", 0), _path(path, "minProperties"))
        hi = schema.get("maxProperties")
        extra_lo, extra_hi = 0, (self.opt.max_properties if extra else 0)
        if lo > n_req or (hi is not None and hi < n_req + n_opt + extra_hi):
            if n_opt:
                raise GrammarError("min/maxProperties with optional properties cannot be enforced", path)
            extra_lo = max(lo - n_req, 0)
            extra_hi = min(extra_hi, hi - n_req) if hi is not None else extra_hi
            if extra_lo > extra_hi:
                raise GrammarError("the schema matches nothing (property count bounds)", path)
        body = self.property_sequence(slots, extra, extra_lo, extra_hi)
        return self.rules.add(path.rsplit("/", 1)[-1] + "-object", body)

    def allowed_names(self, props: dict, names_schema: Any, required: list[str], path: str) -> list[str]:
        if names_schema is None:
            return list(props)
        kept = [n for n in props if _value_fits(n, {"type": "string", **names_schema})]
        for name in required:
            if name not in kept:
                raise GrammarError(f"the schema matches nothing ('{name}' violates propertyNames)", path)
        return kept

    def extra_property(self, schema, props, additional, patterns, path) -> str | None:
        colon = self.punct(":")
        if patterns:
            options = []
            for pat, sub in patterns.items():
                content = self.string_content({"pattern": pat}, 0, None, _path(path, "patternProperties", pat))
                value = self.visit(sub, _path(path, "patternProperties", pat))
                options.append(f'"\\"" {content} "\\"" {colon} {value}')
            return self.rules.add(path.rsplit("/", 1)[-1] + "-extra", alternatives(options))
        if additional is False:
            return None
        names_schema = schema.get("propertyNames")
        if names_schema is not None:
            key = self.visit({"type": "string", **names_schema}, _path(path, "propertyNames"))
        else:
            body = _not_strings(list(props), 0, self.opt.max_string_length)
            key = self.rules.add(path.rsplit("/", 1)[-1] + "-key", f'"\\"" {body} "\\""')
        value = self.visit(additional, _path(path, "additionalProperties"))
        return self.rules.add(path.rsplit("/", 1)[-1] + "-extra", f"{key} {colon} {value}")

    def property_sequence(self, slots: list[tuple[str, bool]], extra: str | None, lo: int, hi: int) -> str:
        """Declared properties in order (optional ones skippable), then lo..hi extra keys."""
        comma = self.punct(",")
        # after[i]: the rest when something was already written; first[i]: when nothing was.
        if extra and hi > 0:
            after = repeat(f"({comma} {extra})", lo, hi)
            first_lo = max(lo - 1, 0)
            first = f"{extra} {repeat(f'({comma} {extra})', first_lo, hi - 1)}"
            first = first if lo > 0 else f"({first})?"
        else:
            after, first = '""', '""'
        for kv, req in reversed(slots):
            new_after = _cat(comma, kv, after)
            new_first = _cat(kv, after)
            if req:
                after, first = new_after, new_first
            else:
                after = f"({new_after} | {after})" if after != '""' else f"({new_after})?"
                first = f"({new_first} | {first})" if first != '""' else f"({new_first})?"
        inner = "" if first == '""' else f" {first}"
        return f"{self.punct('{')}{inner} {self.punct('}')}"

    # -- the generic JSON value --------------------------------------------------------

    def any_value(self) -> str:
        if self.rules.has("value"):
            return "value"
        value = self.rules.reserve("value")
        char = self.rules.add("char", json_text.STRING_CHAR)
        string = self.rules.add("string", f'"\\"" {repeat(char, 0, self.opt.max_string_length)} "\\""')
        number = self.decimal(None, False, None, False, "#/number")
        comma, cap = self.punct(","), self.opt.max_items
        member = f"{string} {self.punct(':')} {value}"
        obj = self.rules.add(
            "object", f"{self.punct('{')} ({member} ({comma} {member}){{0,{cap - 1}}})? {self.punct('}')}"
        )
        arr = self.rules.add(
            "array", f"{self.punct('[')} ({value} ({comma} {value}){{0,{cap - 1}}})? {self.punct(']')}"
        )
        self.rules.define(value, f'{obj} | {arr} | {string} | {number} | "true" | "false" | "null"')
        return value


# -- helpers ------------------------------------------------------------------------------


def resolve_ref(root: Any, ref: str, path: str = "#") -> Any:
    """The subschema a local `$ref` points to (JSON pointer or anchor)."""
    if not isinstance(ref, str) or not ref.startswith("#"):
        raise GrammarError(f"only local references are supported, not {ref!r}", _path(path, "$ref"))
    if ref in ("#", "#/"):
        return root
    if not ref.startswith("#/"):
        found = _find_anchor(root, ref[1:])
        if found is None:
            raise GrammarError(f"unresolved reference {ref!r}", _path(path, "$ref"))
        return found
    node: Any = root
    for raw in ref[2:].split("/"):
        part = raw.replace("%25", "%").replace("~1", "/").replace("~0", "~")
        if isinstance(node, list) and part.isdigit() and int(part) < len(node):
            node = node[int(part)]
        elif isinstance(node, dict) and part in node:
            node = node[part]
        else:
            raise GrammarError(f"unresolved reference {ref!r}", _path(path, "$ref"))
    return node


def _cat(*parts: str) -> str:
    return " ".join(p for p in parts if p and p != '""') or '""'


def _types(schema: dict) -> list[str]:
    t = schema.get("type")
    if t is None:
        return list(ALL_TYPES)
    types = [t] if isinstance(t, str) else list(t)
    if "number" in types and "integer" in types:
        types.remove("integer")
    return types


def _nonneg_int(value: Any, path: str) -> int:
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    if not isinstance(value, int) or isinstance(value, bool) or value < 0:
        raise GrammarError(f"expected a non-negative integer, got {value!r}", path)
    return value


def _bounds(schema: dict, path: str):
    """(lo, lo_strict, hi, hi_strict) as Decimals, handling draft-4 boolean exclusives."""

    def num(key: str) -> Decimal | None:
        v = schema.get(key)
        if v is None or isinstance(v, bool):
            return None
        if not isinstance(v, int | float):
            raise GrammarError(f"'{key}' must be a number", _path(path, key))
        return Decimal(str(v))

    lo, hi = num("minimum"), num("maximum")
    lo_strict = hi_strict = False
    if schema.get("exclusiveMinimum") is True:
        lo_strict = lo is not None
    elif (x := num("exclusiveMinimum")) is not None and (lo is None or x >= lo):
        lo, lo_strict = x, True
    if schema.get("exclusiveMaximum") is True:
        hi_strict = hi is not None
    elif (x := num("exclusiveMaximum")) is not None and (hi is None or x <= hi):
        hi, hi_strict = x, True
    return lo, lo_strict, hi, hi_strict


def _integer_bounds(lo, lo_strict, hi, hi_strict) -> tuple[int | None, int | None]:
    ilo = None if lo is None else (math.floor(lo) + 1 if lo_strict else math.ceil(lo))
    ihi = None if hi is None else (math.ceil(hi) - 1 if hi_strict else math.floor(hi))
    return ilo, ihi


def _power_of_ten_digits(step: Fraction) -> int | None:
    """d when step == 10**-d."""
    for d in range(1, 16):
        if step == Fraction(1, 10**d):
            return d
    return None


def _same(a: Any, b: Any) -> bool:
    return canonical_value_json(a) == canonical_value_json(b)


def _value_fits(value: Any, schema: dict) -> bool:
    """Whether a literal value satisfies the simple sibling keywords of an enum/const."""
    kinds = {
        "null": value is None,
        "boolean": isinstance(value, bool),
        "integer": isinstance(value, int | float) and not isinstance(value, bool) and float(value).is_integer(),
        "number": isinstance(value, int | float) and not isinstance(value, bool),
        "string": isinstance(value, str),
        "array": isinstance(value, list),
        "object": isinstance(value, dict),
    }
    if "type" in schema and not any(kinds.get(t, False) for t in _types_raw(schema["type"])):
        return False
    if isinstance(value, str):
        if len(value) < schema.get("minLength", 0) or len(value) > schema.get("maxLength", len(value)):
            return False
        if "pattern" in schema:
            try:
                return re.search(schema["pattern"], value) is not None
            except re.error:
                return True
    return True


def _types_raw(t: Any) -> list[str]:
    return [t] if isinstance(t, str) else list(t)


def _pattern_schema(name: str, patterns: dict, additional: Any) -> Any:
    return next((sub for pat, sub in patterns.items() if _search(pat, name)), additional)


def _find_anchor(node: Any, anchor: str) -> Any:
    if isinstance(node, dict):
        if node.get("$anchor") == anchor or node.get("$id") == "#" + anchor or node.get("id") == "#" + anchor:
            return node
        children: Iterable = node.values()
    elif isinstance(node, list):
        children = node
    else:
        return None
    for child in children:
        found = _find_anchor(child, anchor)
        if found is not None:
            return found
    return None


def _not_strings(excluded: list[str], lo: int, hi: int) -> str:
    """String content of lo..hi characters that is none of `excluded`, in canonical form.

    A trie over the excluded strings: at each node the string may stop (if that is not an
    excluded word), take a child character (and stay in the trie), or take any other
    character (and be free of every exclusion from then on).
    """
    words = {tuple(json_text.encode(c) for c in s) for s in excluded}
    return _trie(sorted(words), 0, lo, hi) or '""'


def _trie(words: list[tuple[str, ...]], depth: int, lo: int, hi: int) -> str | None:
    children: dict[str, list[tuple[str, ...]]] = {}
    for w in words:
        if len(w) > depth:
            children.setdefault(w[depth], []).append(w)
    options = []
    if depth >= lo and all(len(w) != depth for w in words):
        options.append('""')
    if depth < hi:
        for unit, group in children.items():
            rest = _trie(group, depth + 1, lo, hi)
            if rest is not None:
                options.append(_cat(literal(unit), rest))
        free = repeat(f"({json_text.CANONICAL_CHAR})", max(lo - depth - 1, 0), hi - depth - 1)
        options.append(_cat(json_text.char_except(set(children)), free))
    return alternatives(options) if options else None


def _disjoint(branches: list, compiler: "_Compiler") -> bool:
    """Cheap proof that oneOf branches cannot overlap: distinct single types or consts."""
    keys = []
    for b in branches:
        b = compiler.deref_schema(b, "#")
        if not isinstance(b, dict):
            return False
        if "const" in b:
            keys.append(("const", canonical_value_json(b["const"])))
        elif isinstance(b.get("type"), str) and b["type"] not in ("integer", "number"):
            keys.append(("type", b["type"]))
        else:
            return False
    return len(set(keys)) == len(keys)


def _merge_two(a: dict, b: Any, path: str) -> Any:
    if b is False or not isinstance(b, dict):
        return False if b is False else a
    out = dict(a)
    for key, value in b.items():
        if key in ANNOTATIONS or key not in out:
            out[key] = value if key not in ("properties",) else dict(value)
            continue
        mine = out[key]
        if _same(mine, value):
            continue
        out[key] = _merge_keyword(key, mine, value, a, b, path)
        if out[key] is _UNSAT:
            return False
    _apply_closed_objects(out, a, b)
    return out


_UNSAT = object()


def _merge_keyword(key: str, mine: Any, other: Any, a: dict, b: dict, path: str) -> Any:
    if key == "type":
        left, right = set(_types_raw(mine)), set(_types_raw(other))
        if "number" in left and "integer" in right:
            left.add("integer")
        if "number" in right and "integer" in left:
            right.add("integer")
        common = [t for t in _types_raw(mine) + ["integer"] if t in left & right]
        common = list(dict.fromkeys(common))
        return common if common else _UNSAT
    if key in ("properties", "patternProperties"):
        merged = dict(mine)
        for name, sub in other.items():
            merged[name] = {"allOf": [merged[name], sub]} if name in merged else sub
        return merged
    if key == "required":
        return list(dict.fromkeys([*mine, *other]))
    if key in ("minLength", "minItems", "minProperties", "minimum"):
        return max(mine, other)
    if key in ("maxLength", "maxItems", "maxProperties", "maximum"):
        return min(mine, other)
    if key in ("exclusiveMinimum", "exclusiveMaximum") and not isinstance(mine, bool) and not isinstance(other, bool):
        return max(mine, other) if key == "exclusiveMinimum" else min(mine, other)
    if key == "enum":
        kept = [v for v in mine if any(_same(v, w) for w in other)]
        return kept if kept else _UNSAT
    if key == "const":
        return _UNSAT
    if key in ("items", "additionalProperties", "additionalItems", "propertyNames") and not isinstance(mine, list):
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
            raise GrammarError(f"allOf of two large '{key}' lists", path)
        return [{"allOf": [x, y]} for x in mine for y in other]
    if key == "not":
        return {"anyOf": [mine, other]}
    raise GrammarError(f"allOf with two different '{key}' values cannot be merged", _path(path, "allOf"))


def _apply_closed_objects(out: dict, a: dict, b: dict) -> None:
    """A property declared by one side only must also satisfy the other side's extras rule."""
    for this, that in ((a, b), (b, a)):
        extra = this.get("additionalProperties", True)
        if extra is True or "properties" not in that:
            continue
        declared = set(this.get("properties", {}))
        props = dict(out.get("properties", {}))
        for name in that["properties"]:
            if name in declared or any(_search(p, name) for p in this.get("patternProperties", {})):
                continue
            props[name] = False if extra is False else {"allOf": [props[name], extra]}
        out["properties"] = props


def _search(pattern: str, text: str) -> bool:
    """Python's re as a stand-in for ECMA regex, for compile-time checks on fixed names."""
    try:
        return re.search(pattern, text) is not None
    except re.error:
        return False
