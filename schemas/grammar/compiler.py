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
import sys
from collections.abc import Callable
from decimal import Decimal
from fractions import Fraction
from functools import lru_cache
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from schemas.grammar import arrays, automaton, formats, json_text, numbers, objects
from schemas.grammar.canonical import canonical_json, canonical_value_json
from schemas.grammar.errors import EmptySchema, GrammarError, at, nonneg_int
from schemas.grammar.exclusion import not_strings
from schemas.grammar.gbnf import Rules, alternatives, hint, literal, repeat
from schemas.grammar.merge import MergeError, merge_two, types_of
from schemas.grammar.negation import Inexpressible, is_leaf, value_types
from schemas.grammar.refs import Document, RefError
from schemas.grammar.regex import RegexError, compile_pattern
from schemas.grammar.rewrite import FormatPolicy, Rewriter
from schemas.grammar.vocabulary import (
    ANNOTATIONS,
    ENFORCED,
    INTERNAL,
    REWRITTEN,
    UNENFORCEABLE,
    siblings,
)

AUTOMATON = ("x-patterns", "x-not-patterns", "x-not-strings")  # string_automaton's keywords
KNOWN_DIALECT = re.compile(
    r"https?://json-schema\.org/(draft-0[3-7]/schema|draft/20(19-09|20-12)/schema|schema)#?$"
)
REPETITION_LIMIT = 1999  # llama.cpp refuses repetition counts above 2,000
RECURSION_LIMIT = 10_000  # Python frames for compiling a schema (see _room_to_recurse)


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
    schema: type[BaseModel] | dict[str, Any] | bool,
    options: GrammarOptions | None = None,
    *,
    formats: FormatPolicy = "assert",
) -> Grammar:
    """Compile a Pydantic model class or a JSON Schema to a GBNF grammar.

    `formats`: "assert" writes only well-formed values of the formats the compiler knows
    (date, time, date-time, uuid, ...); "annotate" treats `format` as JSON Schema 2020-12
    does, as an annotation, and warns where it is ignored."""
    options = options or GrammarOptions()
    closed_default = False
    if isinstance(schema, type) and issubclass(schema, BaseModel):
        schema = _model_schema(schema)
        closed_default = True
    if options.additional_properties is not None:
        closed_default = not options.additional_properties
    if not isinstance(schema, dict | bool):
        raise GrammarError(f"a schema must be an object or a boolean, not {type(schema).__name__}")
    compiler = _Compiler(schema, options, closed_default, formats)
    _room_to_recurse()
    try:
        return compiler.run()
    except RecursionError:  # deeper still: refused, like any schema it cannot express
        raise GrammarError("the schema's references nest too deeply to compile") from None


def _room_to_recurse() -> None:
    """Room for the compiler's recursion. Each level of a schema costs ~25 Python frames
    (visit, composite, merge, …), and the negation of a 40-deep constant through recursive
    references (MaskBench Handwritten mod303) goes past Python's default 1000. Python 3.11
    keeps Python-to-Python calls off the C stack, so a higher limit is safe. The limit is
    only ever raised: lowering it again could cut short a compile in another thread."""
    if sys.getrecursionlimit() < RECURSION_LIMIT:
        sys.setrecursionlimit(RECURSION_LIMIT)


class _Compiler:
    def __init__(
        self, root: dict | bool, options: GrammarOptions, closed: bool, formats: FormatPolicy
    ) -> None:
        self.doc = Document(root)
        self.root = self.doc.root
        self.rw = Rewriter(self.doc, formats)
        self.formats = formats
        self.opt = options
        self.closed = closed
        self.rules = Rules()
        self.refs: dict[str, str] = {}
        self.composites: dict[str, str] = {}
        self.warnings: list[str] = []
        self.negations = 0
        ws = options.whitespace == "flexible"
        self.ws = self.rules.add("ws", f"[ \\t\\n]{{0,{options.max_whitespace}}}") if ws else ""

    # -- entry -------------------------------------------------------------------------

    def run(self) -> Grammar:
        dialect = self.root.get("$schema") if isinstance(self.root, dict) else None
        if dialect is not None and not KNOWN_DIALECT.match(str(dialect)):
            # another meta-schema may drop or add vocabularies: its keywords mean what it says
            raise GrammarError(f"unknown dialect $schema {dialect!r}", "#/$schema")
        root_name = self.rules.reserve("root")
        body = self.visit(self.root, "#")
        self.rules.define(root_name, body)
        warnings = list(dict.fromkeys(self.warnings + self.rw.warnings))
        return Grammar(gbnf=self.rules.render(root_name), warnings=warnings)

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
        normalized = self.normalize(schema, path)
        if normalized is not schema:
            return self.visit(normalized, path)
        self.check_keywords(schema, path)
        if ("$ref" in schema and len(schema) > 1) or "allOf" in schema:
            return self.composite(schema, path)
        return self.visit_plain(schema, path)

    def normalize(self, schema: Any, path: str) -> Any:
        """The rewrites of rewrite.py, with a refusal that names the keyword."""
        try:
            return self.rw.normalize(schema)
        except (Inexpressible, RefError) as e:
            key = next((k for k in REWRITTEN if k in schema), "")
            raise GrammarError(str(e), at(path, key) if key else path) from e

    def composite(self, schema: dict, path: str) -> str:
        """A schema that merges references is named before it is expanded, as a $ref is, so
        that recursion through allOf ends."""
        key = json.dumps(schema, sort_keys=True)
        if key not in self.composites:
            name = self.rules.reserve(hint(path, "all"))
            self.composites[key] = name
            try:
                self.define_or_forget(name, lambda: self.merged_body(name, schema, path))
            except GrammarError:
                del self.composites[key]
                raise
        return self.composites[key]

    def merged_body(self, name: str, schema: dict, path: str) -> str:
        """The body of a composite's rule. A merge that gives back the same composite made
        no progress: `name ::= name` derives nothing, and llama.cpp refuses the grammar
        (left recursion), so it is refused here, where an exact oneOf falls back to anyOf."""
        body = self.visit_plain(schema, path)
        if body == name:
            raise GrammarError("this allOf cannot be merged into one schema", at(path, "allOf"))
        return body

    def define_or_forget(self, name: str, build: Callable[[], str]) -> None:
        try:
            self.rules.define(name, build())
        except GrammarError:
            self.rules.discard(name)
            raise

    def visit_plain(self, schema: dict, path: str) -> str:
        if "$ref" in schema:
            rest = siblings(schema, "$ref")
            if not rest:
                return self.ref(schema["$ref"], path)
            return self.visit(self.merge([self.deref(schema["$ref"], path), rest], path), path)
        if "allOf" in schema:
            parts = [
                self.deref_schema(s, at(path, "allOf", i)) for i, s in enumerate(schema["allOf"])
            ]
            rest = {k: v for k, v in schema.items() if k != "allOf"}
            return self.visit(self.merge([rest, *parts], path), path)
        for key in ("anyOf", "oneOf"):
            if key in schema:
                return self.union(schema, key, path)
        if "not" in schema:
            return self.apply_not(schema, path)
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
            seen.setdefault(canonical_value_json(value, self.doc.float_point), value)
        if set(schema) - ANNOTATIONS <= {"enum", "const", "type"}:
            kept = [v for v in seen.values() if _has_type(v, schema.get("type"))]
        else:  # any other keyword: the validator decides, exactly
            kept = [v for v in seen.values() if self.validates(v, schema)]
        if not kept:
            raise EmptySchema("the schema matches nothing (no enum value fits)", path)
        return self.rules.add(
            hint(path, "enum"), alternatives([self.value_text(v, schema) for v in kept])
        )

    def value_text(self, value: Any, schema: Any) -> str:
        """The literal of one value, its members in the grammar's order."""
        if isinstance(value, dict | list):
            return literal(canonical_json(value, schema, root=self.root, formats=self.formats))
        return literal(canonical_value_json(value, self.doc.float_point))

    def validates(self, value: Any, schema: Any) -> bool:
        return self.rw.validates(value, schema)

    def check_keywords(self, schema: dict, path: str) -> None:
        for key in schema:
            if key in ENFORCED or key in ANNOTATIONS or key in INTERNAL:
                continue
            if key in UNENFORCEABLE:
                raise GrammarError(
                    f"keyword '{key}' cannot be enforced by a grammar", at(path, key)
                )
            if self.opt.strict:
                raise GrammarError(f"unknown keyword '{key}'", at(path, key))
            self.warnings.append(f"ignored unknown keyword '{key}' at {at(path, key)}")

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
            return self.doc.resolve(ref)
        except RefError as e:
            raise GrammarError(str(e), at(path, "$ref")) from e

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
        """Intersect schemas (allOf) into one schema where the keywords allow it. Each part
        is rewritten first: a conditional or an unevaluated keyword belongs to its part."""
        out: dict[str, Any] = {}
        for part in parts:
            part = self.normalize(self.deref_schema(part, path), path)
            if part is True:
                continue
            if part is False:
                return False
            if isinstance(part, dict) and "allOf" in part:
                nested = [self.deref_schema(s, path) for s in part["allOf"]]
                part = self.merge([{k: v for k, v in part.items() if k != "allOf"}, *nested], path)
                if part is False:
                    return False
            try:
                out = merge_two(out, part)
            except MergeError as e:
                raise GrammarError(str(e), at(path, "allOf")) from e
        return out

    def union(self, schema: dict, key: str, path: str) -> str:
        branches = schema[key]
        if not isinstance(branches, list) or not branches:
            raise GrammarError(f"'{key}' needs a non-empty list", at(path, key))
        base = siblings(schema, key)
        if key == "oneOf" and len(branches) > 1:
            exact = self.rw.exact_one_of(branches, base)
            if exact is not None:
                try:
                    return self.alternatives(base, exact, key, path)
                except EmptySchema:
                    raise
                except GrammarError:
                    pass  # the exclusions do not compile: enforced as anyOf, said below
            self.warnings.append(
                f"oneOf at {path} is enforced as anyOf: an instance matching several branches "
                "is not excluded"
            )
        return self.alternatives(base, branches, key, path)

    def alternatives(self, base: dict, branches: list, key: str, path: str) -> str:
        options = []
        for i, branch in enumerate(branches):
            # each branch meets the sibling keywords: an allOf, named on first visit
            sub = {"allOf": [base, branch]} if base else branch
            try:
                options.append(self.visit(sub, at(path, key, i)))
            except EmptySchema:
                continue
        if not options:
            raise EmptySchema(f"no branch of '{key}' can match", at(path, key))
        return self.rules.add(hint(path, key), alternatives(options))

    def apply_not(self, schema: dict, path: str) -> str:
        """A 'not' over a leaf the grammar writes directly, or the complement."""
        neg = self.deref_schema(schema["not"], at(path, "not"))
        rest = {k: v for k, v in schema.items() if k != "not"}
        types = value_types(rest)
        if isinstance(neg, dict) and set(neg) - ANNOTATIONS == {"type"}:
            return self.visit(self.not_types(rest, neg["type"], path), path)
        if is_leaf(neg, types):
            return self.visit(self.leaf_not(rest, neg, types[0], path), path)
        self.negations += 1
        try:
            if self.negations > 32:
                raise GrammarError("'not' nested too deeply", at(path, "not"))
            complement = self.rw.without_not({**rest, "not": neg})
        except (Inexpressible, RefError) as e:
            raise GrammarError(str(e), at(path, "not")) from e
        finally:
            self.negations -= 1
        return self.visit(complement, path)

    def not_types(self, rest: dict, removed: Any, path: str) -> Any:
        """`rest` without some types (done here, not by the complement: `integer` and not
        `integer` would only meet again)."""
        removed = set(types_of(removed)) | ({"integer"} if "number" in types_of(removed) else set())
        kept = [t for t in value_types(rest) if t not in removed]
        if not kept:
            raise EmptySchema("the schema matches nothing ('not' removes every type)", path)
        if "integer" in removed and "number" in kept:  # numbers that are not integers
            others = [t for t in kept if t != "number"]
            fractions = {**rest, "type": "number", "x-fraction": True}
            return {"anyOf": [{**rest, "type": others}, fractions]} if others else fractions
        return {**rest, "type": kept}

    def leaf_not(self, rest: dict, neg: dict, kind: str, path: str) -> Any:
        """The schema `rest ∧ not neg` for the leaves of negation.py, with the compiler's
        own keywords."""
        if kind == "string" and "pattern" in neg:
            return {**rest, "x-not-patterns": [*rest.get("x-not-patterns", []), neg["pattern"]]}
        if kind == "string":
            values = neg.get("enum", [neg.get("const")])
            return {**rest, "x-not-strings": [*rest.get("x-not-strings", []), *values]}
        if kind == "number":
            return {**rest, "x-fraction": True}
        # an object with a key outside `names`: a declared one, or an extra key
        names = neg["propertyNames"]["enum"]
        declared = [p for p in rest.get("properties", {}) if p not in names]
        extra = {**rest, "x-extra-min": 1, "x-extra-exclude": [n for n in names
                 if n not in rest.get("properties", {})]}  # fmt: skip
        present = [{**rest, "required": [*rest.get("required", []), p]} for p in declared]
        return {"anyOf": [*present, extra]} if present else extra

    # -- values ------------------------------------------------------------------------

    def typed(self, schema: dict, path: str) -> str:
        options = []
        types = value_types(schema)
        for t in types:
            try:
                options.append(self.one_type(t, schema, path))
            except numbers.Unsatisfiable as e:
                if len(types) == 1:
                    raise EmptySchema(f"the schema matches nothing ({e})", path) from e
            except EmptySchema:
                if len(types) == 1:
                    raise
        if not options:
            raise EmptySchema("the schema matches nothing", path)
        if len(options) == 1:
            return options[0]
        return self.rules.add(hint(path, "value"), alternatives(options))

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
            return arrays.array(self, schema, path)
        if t == "object":
            return objects.object_(self, schema, path)
        raise GrammarError(f"unknown type {t!r}", at(path, "type"))

    # -- strings -----------------------------------------------------------------------

    def string(self, schema: dict, path: str) -> str:
        lo = nonneg_int(schema.get("minLength", 0), at(path, "minLength"))
        hi = schema.get("maxLength")
        hi = None if hi is None else nonneg_int(hi, at(path, "maxLength"))
        if hi is not None and hi < lo:
            raise EmptySchema("the schema matches nothing (maxLength < minLength)", path)
        if hi is not None and hi > REPETITION_LIMIT:
            self.warnings.append(f"maxLength {hi} at {path} capped at {REPETITION_LIMIT}")
            hi = REPETITION_LIMIT
        if lo > REPETITION_LIMIT:
            raise GrammarError(f"minLength {lo} exceeds the grammar limit", at(path, "minLength"))
        patterns = any(k in schema for k in ("pattern", "x-patterns", "x-not-patterns"))
        if "x-not-strings" in schema and not patterns and not self.enforced_format(schema, path):
            # words excluded, nothing else: a trie is much smaller than an automaton
            cap = hi if hi is not None else max(lo, self.opt.max_string_length)
            content = not_strings(schema["x-not-strings"], lo, cap, self.canonical_char())
        elif any(k in schema for k in AUTOMATON) or (
            "pattern" in schema and not self.pattern_fits(schema["pattern"], lo, hi)
        ):
            content = self.string_automaton(schema, lo, hi, path)
        else:
            content = self.string_content(schema, lo, hi, path)
        return self.rules.add(hint(path, "string"), f'"\\"" {content} "\\""')

    def pattern_fits(self, pattern: str, lo: int, hi: int | None) -> bool:
        """Whether a pattern alone keeps within the length bounds (a plain translation)."""
        try:
            compiled = compile_pattern(pattern, self.opt.max_string_length, Rules())
        except RegexError:
            return True  # the plain translation reports the error
        fits_hi = hi is None or (compiled.max_length is not None and compiled.max_length <= hi)
        return compiled.min_length >= lo and fits_hi

    def string_automaton(self, schema: dict, lo: int, hi: int | None, path: str) -> str:
        """Patterns together, strings a pattern must not match, excluded words and length
        bounds: one automaton (automaton.py)."""
        key = "pattern" if "pattern" in schema else "not"
        if self.enforced_format(schema, path) is not None:
            raise GrammarError(
                "pattern or 'not' together with format cannot be enforced", at(path, key)
            )
        try:
            dfa = automaton.everything()
            for pattern in [*([schema["pattern"]] if "pattern" in schema else []),
                            *schema.get("x-patterns", [])]:  # fmt: skip
                dfa = automaton.intersect(dfa, automaton.from_pattern(pattern))
            for pattern in schema.get("x-not-patterns", []):
                dfa = automaton.minus(dfa, automaton.from_pattern(pattern))
            if schema.get("x-not-strings"):
                dfa = automaton.minus(dfa, automaton.from_words(schema["x-not-strings"]))
            cap = hi if hi is not None else max(lo, self.opt.max_string_length)
            body = automaton.emit(dfa, lo, cap, self.rules, hint(path, "chars"))
        except RegexError as e:
            raise GrammarError(f"pattern: {e}", at(path, key)) from e
        if body is None:
            raise EmptySchema("the schema matches nothing (no string fits)", path)
        return body

    def enforced_format(self, schema: dict, path: str) -> str | None:
        """The grammar of the schema's format when the policy asserts it, else None (with a
        warning for a format that goes unchecked)."""
        fmt = schema.get("format")
        if fmt is None:
            return None
        if self.formats == "annotate":
            self.warnings.append(f"format '{fmt}' at {path} is an annotation (not enforced)")
            return None
        if fmt not in formats.FORMATS:
            self.warnings.append(f"format '{fmt}' at {path} is not enforced (annotation)")
            return None
        body = formats.FORMATS[fmt].replace("CAP", str(self.opt.max_string_length))
        return self.rules.add(f"{fmt}-format", body)

    def string_content(self, schema: dict, lo: int, hi: int | None, path: str) -> str:
        pattern = schema.get("pattern")
        fmt = self.enforced_format(schema, path)
        if pattern is not None:
            if fmt is not None:
                raise GrammarError(
                    "pattern together with format cannot be enforced", at(path, "pattern")
                )
            try:
                compiled = compile_pattern(pattern, self.opt.max_string_length, self.rules)
            except RegexError as e:
                raise GrammarError(f"pattern: {e}", at(path, "pattern")) from e
            fits_lo = compiled.min_length >= lo
            fits_hi = hi is None or (compiled.max_length is not None and compiled.max_length <= hi)
            if not (fits_lo and fits_hi):
                raise GrammarError(
                    "pattern together with minLength/maxLength cannot be enforced",
                    at(path, "pattern"),
                )
            return compiled.expr
        if fmt is not None:
            if lo or hi is not None:  # a format's strings have their own lengths
                raise GrammarError(
                    "format together with a length bound cannot be enforced", at(path, "format")
                )
            return fmt
        char = self.rules.add("char", json_text.STRING_CHAR)
        return repeat(char, lo, hi if hi is not None else max(lo, self.opt.max_string_length))

    # -- numbers -----------------------------------------------------------------------

    def number(self, schema: dict, path: str, integer: bool) -> str:
        lo, lo_strict, hi, hi_strict = _bounds(schema, path)
        fraction = bool(schema.get("x-fraction"))
        if fraction and integer:
            raise numbers.Unsatisfiable("an integer with a fraction")
        k = schema.get("multipleOf")
        if k is not None:
            if not isinstance(k, int | float) or isinstance(k, bool) or k <= 0:
                raise GrammarError("multipleOf must be a positive number", at(path, "multipleOf"))
            if fraction:
                raise GrammarError("'not integer' with multipleOf cannot be enforced", path)
            step = Fraction(str(k))
            if integer or step.denominator == 1:
                return self.multiple(step.numerator, lo, lo_strict, hi, hi_strict, path)
            digits = _power_of_ten_digits(step)
            if digits is None:
                raise GrammarError(f"multipleOf {k} cannot be enforced", at(path, "multipleOf"))
            return self.decimal(lo, lo_strict, hi, hi_strict, path, fraction_digits=digits)
        if integer:
            ilo, ihi = _integer_bounds(lo, lo_strict, hi, hi_strict)
            body = numbers.integer(ilo, ihi, self.opt.max_integer_digits)
            return self.rules.add(hint(path, "integer"), body)
        return self.decimal(lo, lo_strict, hi, hi_strict, path, fraction_required=fraction)

    def multiple(self, k: int, lo, lo_strict, hi, hi_strict, path: str) -> str:
        ilo, ihi = _integer_bounds(lo, lo_strict, hi, hi_strict)
        try:
            body = numbers.multiple_of(k, ilo, ihi, self.opt.max_integer_digits, self.rules.add)
        except numbers.Unsatisfiable:
            raise
        except ValueError as e:  # a form the automaton does not cover
            raise GrammarError(f"multipleOf {k}: {e}", at(path, "multipleOf")) from e
        return self.rules.add(hint(path, "multiple"), body)

    def decimal(
        self, lo, lo_strict, hi, hi_strict, path: str, fraction_digits: int | None = None,
        fraction_required: bool = False,
    ) -> str:  # fmt: skip
        frac = fraction_digits if fraction_digits is not None else self.opt.max_fraction_digits
        digits = self.opt.max_integer_digits
        if lo is None and hi is None and fraction_digits is None and not fraction_required:
            # "-0.5" is a number: the integer part here admits "-0", unlike an integer
            body = (
                f'"-"? ("0" | [1-9] [0-9]{{0,{digits - 1}}}) '
                f'("." [0-9]{{1,{frac}}})? ([eE] [-+]? [0-9]{{1,3}})?'
            )
        else:
            body = numbers.decimal(lo, lo_strict, hi, hi_strict, digits, frac, fraction_required)
        return self.rules.add(hint(path, "number"), body)

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


def _bounds(schema: dict, path: str):
    """(lo, lo_strict, hi, hi_strict) as Decimals, handling draft-4 boolean exclusives."""

    def num(key: str) -> Decimal | None:
        v = schema.get(key)
        if v is None or isinstance(v, bool):
            return None
        if not isinstance(v, int | float):
            raise GrammarError(f"'{key}' must be a number", at(path, key))
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
