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
from collections.abc import Callable
from decimal import Decimal
from fractions import Fraction
from functools import lru_cache
from json.encoder import encode_basestring
from typing import Any, Literal

from jsonschema import validators
from pydantic import BaseModel, ConfigDict, Field

from schemas.errors import WaypointError
from schemas.grammar import formats, json_text, numbers
from schemas.grammar.canonical import canonical_json, canonical_value_json
from schemas.grammar.exclusion import not_strings
from schemas.grammar.gbnf import Rules, alternatives, literal, repeat
from schemas.grammar.merge import (
    MergeError,
    dependencies_as_all_of,
    merge_two,
    search,
    types_of,
)
from schemas.grammar.refs import RefError, resolve_ref
from schemas.grammar.regex import RegexError, compile_pattern
from schemas.grammar.vocabulary import ANNOTATIONS, DEPENDENCIES, ENFORCED, UNENFORCEABLE

REPETITION_LIMIT = 1999  # llama.cpp refuses repetition counts above 2,000
ALL_TYPES = ("null", "boolean", "object", "array", "string", "number")


class GrammarError(WaypointError):
    """The schema cannot be compiled: names what and where (a JSON pointer)."""

    def __init__(self, message: str, path: str = "#") -> None:
        super().__init__(f"{message} at {path}")
        self.path = path


class EmptySchema(GrammarError):
    """The schema admits no value at all (e.g. contradictory bounds)."""


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
        schema = _model_schema(schema)
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


class _Compiler:
    def __init__(self, root: dict | bool, options: GrammarOptions, closed: bool) -> None:
        self.root = root
        self.opt = options
        self.closed = closed
        self.rules = Rules()
        self.refs: dict[str, str] = {}
        self.composites: dict[str, str] = {}
        self._validator: Any = None
        self.warnings: list[str] = []
        ws = options.whitespace == "flexible"
        self.ws = self.rules.add("ws", f"[ \\t\\n]{{0,{options.max_whitespace}}}") if ws else ""

    # -- entry -------------------------------------------------------------------------

    def run(self) -> Grammar:
        root_name = self.rules.reserve("root")
        body = self.visit(self.root, "#")
        self.rules.define(root_name, body)
        return Grammar(gbnf=self.rules.render(root_name), warnings=self.warnings)

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
            raise EmptySchema("the schema 'false' matches nothing", path)
        if not isinstance(schema, dict):
            raise GrammarError(f"a schema must be an object or a boolean, got {schema!r}", path)
        candidates = self.finite_candidates(schema, path)
        if candidates is not None:
            return self.finite(schema, candidates, path)
        self.check_keywords(schema, path)
        if ("$ref" in schema and len(schema) > 1) or "allOf" in schema:
            return self.composite(schema, path)
        return self.visit_plain(schema, path)

    def composite(self, schema: dict, path: str) -> str:
        """A schema that merges references is named before it is expanded, as a $ref is, so
        that recursion through allOf ends."""
        key = json.dumps(schema, sort_keys=True)
        if key not in self.composites:
            name = self.rules.reserve(_hint(path, "all"))
            self.composites[key] = name
            try:
                self.define_or_forget(name, lambda: self.visit_plain(schema, path))
            except GrammarError:
                del self.composites[key]
                raise
        return self.composites[key]

    def define_or_forget(self, name: str, build: Callable[[], str]) -> None:
        try:
            self.rules.define(name, build())
        except GrammarError:
            self.rules.discard(name)
            raise

    def visit_plain(self, schema: dict, path: str) -> str:
        if "$ref" in schema:
            rest = {k: v for k, v in schema.items() if k != "$ref" and k not in ANNOTATIONS}
            if not rest:
                return self.ref(schema["$ref"], path)
            return self.visit(self.merge([self.deref(schema["$ref"], path), rest], path), path)
        if "allOf" in schema:
            parts = [
                self.deref_schema(s, _path(path, "allOf", i)) for i, s in enumerate(schema["allOf"])
            ]
            rest = {k: v for k, v in schema.items() if k != "allOf"}
            return self.visit(self.merge([rest, *parts], path), path)
        for key in ("anyOf", "oneOf"):
            if key in schema:
                return self.union(schema, key, path)
        if "not" in schema:
            schema = self.apply_not(schema, path)
        if any(k in schema for k in DEPENDENCIES):
            return self.visit(dependencies_as_all_of(schema), path)
        return self.typed(schema, path)

    def finite_candidates(self, schema: Any, path: str, depth: int = 0) -> list | None:
        """The values a schema can take when an enum/const bounds them, else None."""
        if depth > 8:
            return None
        try:
            schema = self.deref_schema(schema, path)
        except GrammarError:
            return None
        if not isinstance(schema, dict):
            return None
        if "const" in schema:
            return [schema["const"]]
        if isinstance(schema.get("enum"), list):
            return list(schema["enum"])
        for part in schema.get("allOf", []) if isinstance(schema.get("allOf"), list) else []:
            found = self.finite_candidates(part, path, depth + 1)
            if found is not None:
                return found
        for key in ("anyOf", "oneOf"):
            branches = schema.get(key)
            if isinstance(branches, list) and branches:
                found = [self.finite_candidates(b, path, depth + 1) for b in branches]
                if all(f is not None for f in found):
                    return [v for f in found for v in f]
        return None

    def finite(self, schema: dict, candidates: list, path: str) -> str:
        """A finite language is exact: the candidates that the whole schema validates."""
        seen: dict[str, Any] = {}
        for value in candidates:
            seen.setdefault(canonical_value_json(value), value)
        if set(schema) - ANNOTATIONS <= {"enum", "const", "type"}:
            kept = [v for v in seen.values() if _has_type(v, schema.get("type"))]
        else:  # any other keyword: the validator decides, exactly
            kept = [v for v in seen.values() if self.validates(v, schema)]
        if not kept:
            raise EmptySchema("the schema matches nothing (no enum value fits)", path)
        texts = [
            canonical_json(v, schema, root=self.root)
            if isinstance(v, dict | list)
            else canonical_value_json(v)
            for v in kept
        ]
        return self.rules.add(_hint(path, "enum"), alternatives([literal(t) for t in texts]))

    def validates(self, value: Any, schema: Any) -> bool:
        if self._validator is None:
            cls = validators.validator_for(self.root, default=validators.Draft202012Validator)
            self._validator = cls(self.root, format_checker=cls.FORMAT_CHECKER)
        return next(self._validator.descend(value, schema), None) is None

    def check_keywords(self, schema: dict, path: str) -> None:
        for key in schema:
            if key in ENFORCED or key in ANNOTATIONS:
                continue
            if key in UNENFORCEABLE:
                raise GrammarError(
                    f"keyword '{key}' cannot be enforced by a grammar", _path(path, key)
                )
            if self.opt.strict:
                raise GrammarError(f"unknown keyword '{key}'", _path(path, key))
            self.warnings.append(f"ignored unknown keyword '{key}' at {_path(path, key)}")

    # -- references --------------------------------------------------------------------

    def ref(self, ref: str, path: str) -> str:
        if ref not in self.refs:
            name = self.rules.reserve(ref.rsplit("/", 1)[-1] or "root-ref")
            self.refs[ref] = name
            try:
                self.define_or_forget(name, lambda: self.visit(self.deref(ref, path), ref))
            except GrammarError:
                del self.refs[ref]
                raise
        return self.refs[ref]

    def deref(self, ref: str, path: str) -> Any:
        try:
            return resolve_ref(self.root, ref)
        except RefError as e:
            raise GrammarError(str(e), _path(path, "$ref")) from e

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
            try:
                out = merge_two(out, part)
            except MergeError as e:
                raise GrammarError(str(e), _path(path, "allOf")) from e
        return out

    def union(self, schema: dict, key: str, path: str) -> str:
        branches = schema[key]
        if not isinstance(branches, list) or not branches:
            raise GrammarError(f"'{key}' needs a non-empty list", _path(path, key))
        base = {k: v for k, v in schema.items() if k != key and k not in ANNOTATIONS}
        options = []
        for i, branch in enumerate(branches):
            # each branch meets the sibling keywords: an allOf, named on first visit
            sub = {"allOf": [base, branch]} if base else branch
            try:
                options.append(self.visit(sub, _path(path, key, i)))
            except EmptySchema:
                continue
        if not options:
            raise EmptySchema(f"no branch of '{key}' can match", _path(path, key))
        if key == "oneOf" and len(options) > 1 and not _disjoint(branches, self):
            self.warnings.append(
                f"oneOf at {path} is enforced as anyOf: an instance matching several branches "
                "is not excluded"
            )
        return self.rules.add(_hint(path, key), alternatives(options))

    def apply_not(self, schema: dict, path: str) -> dict:
        """The forms of 'not' a grammar can express, folded into the schema."""
        neg = self.deref_schema(schema["not"], _path(path, "not"))
        rest = {k: v for k, v in schema.items() if k != "not"}
        keys = set(neg) - ANNOTATIONS if isinstance(neg, dict) else set()
        if neg is True or keys == set():
            raise EmptySchema("the schema matches nothing ('not' of everything)", path)
        if neg is False:
            return rest
        if keys == {"type"}:
            removed = {neg["type"]} if isinstance(neg["type"], str) else set(neg["type"])
            allowed = [t for t in _types(rest) if t not in removed]
            if "number" in allowed and "integer" in removed:
                raise GrammarError(
                    "'not integer' on numbers cannot be enforced", _path(path, "not")
                )
            if not allowed:
                raise EmptySchema("the schema matches nothing ('not' removes every type)", path)
            return {**rest, "type": allowed}
        if keys <= {"enum", "const"} and _types(rest) == ["string"]:
            values = neg.get("enum", []) + ([neg["const"]] if "const" in neg else [])
            return {**rest, "x-not-strings": [v for v in values if isinstance(v, str)]}
        if keys == {"required"} and len(neg["required"]) == 1 and _types(rest) == ["object"]:
            name = neg["required"][0]
            if name in rest.get("required", []):
                raise EmptySchema("the schema matches nothing (required and forbidden)", path)
            return {**rest, "properties": {**rest.get("properties", {}), name: False}}
        raise GrammarError("this form of 'not' cannot be enforced by a grammar", _path(path, "not"))

    # -- values ------------------------------------------------------------------------

    def typed(self, schema: dict, path: str) -> str:
        options = []
        for t in _types(schema):
            try:
                options.append(self.one_type(t, schema, path))
            except numbers.Unsatisfiable as e:
                if len(_types(schema)) == 1:
                    raise EmptySchema(f"the schema matches nothing ({e})", path) from e
        if not options:
            raise EmptySchema("the schema matches nothing", path)
        if len(options) == 1:
            return options[0]
        return self.rules.add(_hint(path, "value"), alternatives(options))

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
            raise EmptySchema("the schema matches nothing (maxLength < minLength)", path)
        if hi is not None and hi > REPETITION_LIMIT:
            self.warnings.append(f"maxLength {hi} at {path} capped at {REPETITION_LIMIT}")
            hi = REPETITION_LIMIT
        if lo > REPETITION_LIMIT:
            raise GrammarError(
                f"minLength {lo} exceeds the grammar limit", _path(path, "minLength")
            )
        if "x-not-strings" in schema:
            if "pattern" in schema or "format" in schema:
                raise GrammarError(
                    "'not' with pattern/format cannot be enforced", _path(path, "not")
                )
            cap = hi if hi is not None else max(lo, self.opt.max_string_length)
            body = not_strings(schema["x-not-strings"], lo, cap, self.canonical_char())
            return self.rules.add(_hint(path, "string"), f'"\\"" {body} "\\""')
        content = self.string_content(schema, lo, hi, path)
        return self.rules.add(_hint(path, "string"), f'"\\"" {content} "\\""')

    def string_content(self, schema: dict, lo: int, hi: int | None, path: str) -> str:
        pattern, fmt = schema.get("pattern"), schema.get("format")
        if pattern is not None:
            if fmt is not None and fmt in formats.FORMATS:
                raise GrammarError(
                    "pattern together with format cannot be enforced", _path(path, "pattern")
                )
            try:
                compiled = compile_pattern(pattern, self.opt.max_string_length, self.rules)
            except RegexError as e:
                raise GrammarError(f"pattern: {e}", _path(path, "pattern")) from e
            fits_lo = compiled.min_length >= lo
            fits_hi = hi is None or (compiled.max_length is not None and compiled.max_length <= hi)
            if not (fits_lo and fits_hi):
                raise GrammarError(
                    "pattern together with minLength/maxLength cannot be enforced",
                    _path(path, "pattern"),
                )
            return compiled.expr
        if fmt is not None:
            if fmt in formats.FORMATS:
                if lo or hi is not None:
                    raise GrammarError(
                        "format together with a length bound cannot be enforced",
                        _path(path, "format"),
                    )
                return self.rules.add(
                    f"{fmt}-format",
                    formats.FORMATS[fmt].replace("CAP", str(self.opt.max_string_length)),
                )
            self.warnings.append(f"format '{fmt}' at {path} is not enforced (annotation)")
        char = self.rules.add("char", json_text.STRING_CHAR)
        return repeat(char, lo, hi if hi is not None else max(lo, self.opt.max_string_length))

    # -- numbers -----------------------------------------------------------------------

    def number(self, schema: dict, path: str, integer: bool) -> str:
        lo, lo_strict, hi, hi_strict = _bounds(schema, path)
        k = schema.get("multipleOf")
        if k is not None:
            if not isinstance(k, int | float) or isinstance(k, bool) or k <= 0:
                raise GrammarError(
                    "multipleOf must be a positive number", _path(path, "multipleOf")
                )
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
            return self.rules.add(_hint(path, "integer"), body)
        return self.decimal(lo, lo_strict, hi, hi_strict, path)

    def multiple(self, k: int, lo, lo_strict, hi, hi_strict, path: str) -> str:
        ilo, ihi = _integer_bounds(lo, lo_strict, hi, hi_strict)
        try:
            body = numbers.multiple_of(k, ilo, ihi, self.opt.max_integer_digits, self.rules.add)
        except numbers.Unsatisfiable:
            raise
        except ValueError as e:  # a form the automaton does not cover
            raise GrammarError(f"multipleOf {k}: {e}", _path(path, "multipleOf")) from e
        return self.rules.add(_hint(path, "multiple"), body)

    def decimal(
        self, lo, lo_strict, hi, hi_strict, path: str, fraction_digits: int | None = None
    ) -> str:
        frac = fraction_digits if fraction_digits is not None else self.opt.max_fraction_digits
        if lo is None and hi is None and fraction_digits is None:
            # "-0.5" is a number: the integer part here admits "-0", unlike an integer
            digits = self.opt.max_integer_digits
            body = (
                f'"-"? ("0" | [1-9] [0-9]{{0,{digits - 1}}}) '
                f'("." [0-9]{{1,{frac}}})? ([eE] [-+]? [0-9]{{1,3}})?'
            )
        else:
            body = numbers.decimal(lo, lo_strict, hi, hi_strict, self.opt.max_integer_digits, frac)
        return self.rules.add(_hint(path, "number"), body)

    # -- arrays ------------------------------------------------------------------------

    def array(self, schema: dict, path: str) -> str:
        lo = _nonneg_int(schema.get("minItems", 0), _path(path, "minItems"))
        hi = schema.get("maxItems")
        hi = None if hi is None else _nonneg_int(hi, _path(path, "maxItems"))
        if schema.get("uniqueItems") is True and (hi is None or hi > 1):
            raise GrammarError(
                "'uniqueItems' cannot be enforced by a grammar", _path(path, "uniqueItems")
            )
        items = schema.get("items", True)
        if "prefixItems" in schema:
            prefix, rest, rest_key = schema["prefixItems"], items, "items"
        elif isinstance(items, list):
            prefix, rest, rest_key = items, schema.get("additionalItems", True), "additionalItems"
        else:
            prefix, rest, rest_key = [], items, "items"
        prefix_key = "prefixItems" if "prefixItems" in schema else "items"
        prefix_exprs = [self.visit(s, _path(path, prefix_key, i)) for i, s in enumerate(prefix)]
        if hi is not None and hi < lo:
            raise EmptySchema("the schema matches nothing (maxItems < minItems)", path)
        if hi is None:
            hi = max(lo, len(prefix) + self.opt.max_items) if rest is not False else len(prefix)
        if hi > REPETITION_LIMIT:
            self.warnings.append(f"maxItems {hi} at {path} capped at {REPETITION_LIMIT}")
            hi = REPETITION_LIMIT
        hi = min(hi, len(prefix)) if rest is False else hi
        if lo > hi:
            raise EmptySchema("the schema matches nothing (too few items allowed)", path)
        rest_expr = (
            self.visit(rest, _path(path, rest_key))
            if rest is not False and hi > len(prefix)
            else None
        )
        body = self.item_sequence(prefix_exprs, rest_expr, lo, hi)
        return self.rules.add(_hint(path, "array"), body)

    def item_sequence(self, prefix: list[str], rest: str | None, lo: int, hi: int) -> str:
        """`[` items `]` with lo..hi items: prefix items first, then `rest` repeated."""
        comma, p = self.punct(","), len(prefix)
        if p == 0:
            if rest is None or hi == 0:
                return f"{self.punct('[')} {self.punct(']')}"
            body = _cat(rest, self.rules.repeat("item", f"{comma} {rest}", max(lo - 1, 0), hi - 1))
            body = body if lo > 0 else f"({body})?"
            return f"{self.punct('[')} {body} {self.punct(']')}"
        # Built from the back: tail is what may follow the first i items.
        tail = (
            self.rules.repeat("item", f"{comma} {rest}", max(lo - p, 0), hi - p)
            if rest is not None and hi > p
            else '""'
        )
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
                    raise EmptySchema(
                        f"the schema matches nothing (required '{name}' is false)", path
                    )
                continue
            try:
                value = self.visit(sub, _path(path, "properties", name))
            except EmptySchema:
                if name in required:
                    raise
                continue  # a property no value can satisfy cannot be present
            key = literal(encode_basestring(name))
            slots.append((f"{key} {self.punct(':')} {value}", name in required))
        extra = self.extra_property(schema, props, additional, patterns, path)
        n_req = sum(1 for _, req in slots if req)
        n_opt = len(slots) - n_req
        lo = _nonneg_int(schema.get("minProperties", 0), _path(path, "minProperties"))
        hi = schema.get("maxProperties")
        extra_lo, extra_hi = 0, (self.opt.max_properties if extra else 0)
        if lo > n_req or (hi is not None and hi < n_req + n_opt + extra_hi):
            if n_opt:
                raise GrammarError(
                    "min/maxProperties with optional properties cannot be enforced", path
                )
            extra_lo = max(lo - n_req, 0)
            extra_hi = min(extra_hi, hi - n_req) if hi is not None else extra_hi
            if extra_lo > extra_hi:
                raise EmptySchema("the schema matches nothing (property count bounds)", path)
        body = self.property_sequence(slots, extra, extra_lo, extra_hi)
        return self.rules.add(_hint(path, "object"), body)

    def allowed_names(
        self, props: dict, names_schema: Any, required: list[str], path: str
    ) -> list[str]:
        if names_schema is None:
            return list(props)
        kept = [n for n in props if self.validates(n, names_schema)]
        for name in required:
            if name not in kept:
                raise EmptySchema(
                    f"the schema matches nothing ('{name}' violates propertyNames)", path
                )
        return kept

    def extra_property(self, schema, props, additional, patterns, path) -> str | None:
        colon = self.punct(":")
        if patterns:
            options = []
            for pat, sub in patterns.items():
                content = self.string_content(
                    {"pattern": pat}, 0, None, _path(path, "patternProperties", pat)
                )
                value = self.visit(sub, _path(path, "patternProperties", pat))
                options.append(f'"\\"" {content} "\\"" {colon} {value}')
            return self.rules.add(_hint(path, "extra"), alternatives(options))
        if additional is False:
            return None
        names_schema = schema.get("propertyNames")
        if names_schema is not None:
            key = self.visit({"type": "string", **names_schema}, _path(path, "propertyNames"))
        else:
            body = not_strings(list(props), 0, self.opt.max_string_length, self.canonical_char())
            key = self.rules.add(_hint(path, "key"), f'"\\"" {body} "\\""')
        value = self.visit(additional, _path(path, "additionalProperties"))
        return self.rules.add(_hint(path, "extra"), f"{key} {colon} {value}")

    def property_sequence(
        self, slots: list[tuple[str, bool]], extra: str | None, lo: int, hi: int
    ) -> str:
        """Declared properties in order (optional ones skippable), then lo..hi extra keys."""
        comma = self.punct(",")
        # after[i]: the rest when something was already written; first[i]: when nothing was.
        if extra and hi > 0:
            after = self.rules.repeat("member", f"{comma} {extra}", lo, hi)
            first_lo = max(lo - 1, 0)
            first = f"{extra} {self.rules.repeat('member', f'{comma} {extra}', first_lo, hi - 1)}"
            first = first if lo > 0 else f"({first})?"
        else:
            after, first = '""', '""'
        for kv, req in reversed(slots):
            if req:
                after, first = _cat(comma, kv, after), _cat(kv, after)
                continue
            # An optional slot uses what follows twice: named, or the text would double.
            after = self.rules.add("props", after) if after != '""' else after
            rest = self.rules.add("props", first) if first != '""' else first
            with_slot, first_slot = _cat(comma, kv, after), _cat(kv, after)
            after = f"({with_slot} | {after})" if after != '""' else f"({with_slot})?"
            first = f"({first_slot} | {rest})" if rest != '""' else f"({first_slot})?"
        inner = "" if first == '""' else f" {first}"
        return f"{self.punct('{')}{inner} {self.punct('}')}"

    def canonical_char(self) -> str:
        return self.rules.add("cchar", json_text.CANONICAL_CHAR)

    # -- the generic JSON value --------------------------------------------------------

    def any_value(self) -> str:
        if self.rules.has("value"):
            return "value"
        value = self.rules.reserve("value")
        char = self.rules.add("char", json_text.STRING_CHAR)
        string = self.rules.add(
            "string", f'"\\"" {repeat(char, 0, self.opt.max_string_length)} "\\""'
        )
        number = self.decimal(None, False, None, False, "#/number")
        comma, cap = self.punct(","), self.opt.max_items
        member = self.rules.add("member", f"{string} {self.punct(':')} {value}")
        members = f"{member} {self.rules.repeat('members', f'{comma} {member}', 0, cap - 1)}"
        obj = self.rules.add("object", f"{self.punct('{')} ({members})? {self.punct('}')}")
        values = f"{value} {self.rules.repeat('values', f'{comma} {value}', 0, cap - 1)}"
        arr = self.rules.add("array", f"{self.punct('[')} ({values})? {self.punct(']')}")
        self.rules.define(value, f'{obj} | {arr} | {string} | {number} | "true" | "false" | "null"')
        return value


# -- helpers ------------------------------------------------------------------------------


@lru_cache(maxsize=256)
def _model_schema(model: type[BaseModel]) -> dict:
    """Pydantic's JSON Schema for a class, generated once (it costs more than compiling)."""
    return model.model_json_schema()


_TYPE_CHECKS = {
    "null": lambda v: v is None,
    "boolean": lambda v: isinstance(v, bool),
    "integer": lambda v: _is_number(v) and float(v).is_integer(),
    "number": lambda v: _is_number(v),
    "string": lambda v: isinstance(v, str),
    "array": lambda v: isinstance(v, list),
    "object": lambda v: isinstance(v, dict),
}


def _is_number(v: Any) -> bool:
    return isinstance(v, int | float) and not isinstance(v, bool)


def _has_type(value: Any, t: Any) -> bool:
    if t is None:
        return True
    return any(_TYPE_CHECKS[k](value) for k in types_of(t) if k in _TYPE_CHECKS)


def _hint(path: str, kind: str) -> str:
    """A readable rule name from the last named part of a JSON pointer."""
    names = [p for p in path.split("/") if p and p != "#" and not p.isdigit()]
    skip = {"properties", "items", "anyOf", "oneOf", "allOf", "$defs", "definitions", "prefixItems"}
    named = [p for p in names if p not in skip]
    return f"{named[-1]}-{kind}" if named else kind


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


def _pattern_schema(name: str, patterns: dict, additional: Any) -> Any:
    return next((sub for pat, sub in patterns.items() if search(pat, name)), additional)


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
