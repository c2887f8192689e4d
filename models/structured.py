"""Structured output, shared by every backend: a schema becomes a grammar on the way in
(compiled once, cached) and the text is parsed and validated on the way out: by Pydantic
for a class, by jsonschema for a JSON Schema dict, against the whole schema either way.

Whatever the grammar cannot enforce of a schema (the compiler's warnings: a keyword it
ignores, a bound it caps) is never skipped silently: it is logged once per schema, carried
on every Completion (`schema_warnings`), and refused outright by a model whose
`strict_schemas` is set.
"""

import json
import logging
from functools import lru_cache
from typing import Any, Literal

from jsonschema import FormatChecker, validators
from jsonschema.exceptions import SchemaError
from jsonschema.exceptions import ValidationError as SchemaViolation
from pydantic import BaseModel, ValidationError

from models.chat_model import CompletionError, ModelError, Schema
from schemas.chat import Completion
from schemas.errors import validation_problem
from schemas.grammar import Grammar, compile_grammar

log = logging.getLogger(__name__)

# How a schema reaches a server (see models/openai_compat.py).
GrammarMode = Literal["json_schema", "gbnf", "json_object", "none"]


def schema_name(schema: Schema) -> str:
    if isinstance(schema, type):
        return schema.__name__
    return str(schema.get("title") or "schema")


def json_schema(schema: Schema) -> dict[str, Any]:
    return schema.model_json_schema() if isinstance(schema, type) else schema


class LooseSchemaError(ModelError):
    """A strict model was given a schema that its grammar would enforce only in part."""


def grammar_for(schema: Schema, *, strict: bool = False) -> str:
    """The GBNF for a schema, compiled once per distinct schema (see `check_schema`)."""
    return check_schema(schema, strict=strict).gbnf


def check_schema(schema: Schema, *, strict: bool = False) -> Grammar:
    """The schema's grammar; with `strict`, a LooseSchemaError if it has any warning."""
    grammar = _compiled(_key(schema))
    if strict:
        refuse_warnings(grammar, schema_name(schema))
    return grammar


def refuse_warnings(grammar: Grammar, name: str) -> None:
    """A LooseSchemaError naming the first of the grammar's warnings, if it has any."""
    if grammar.warnings:
        more = f" (and {len(grammar.warnings) - 1} more)" if len(grammar.warnings) > 1 else ""
        raise LooseSchemaError(
            f"the grammar for {name} would not enforce all of it: {grammar.warnings[0]}{more}"
        )


def _key(schema: Schema) -> type[BaseModel] | str:
    """A Pydantic class is its own key; a dict is keyed by its JSON text, keys in their
    order: the grammar writes properties in that order, so it is part of the schema."""
    return schema if isinstance(schema, type) else json.dumps(schema)


@lru_cache(maxsize=256)
def _compiled(key: type[BaseModel] | str) -> Grammar:
    schema = key if isinstance(key, type) else json.loads(key)
    grammar = compile_grammar(schema)
    for warning in grammar.warnings:  # once per schema: compiling is cached
        log.warning("grammar for %s: %s", schema_name(schema), warning)
    return grammar


@lru_cache(maxsize=256)
def _validator(key: str) -> Any:
    """A jsonschema validator of the schema's own draft, formats checked."""
    schema = json.loads(key)
    cls = validators.validator_for(schema)
    try:
        cls.check_schema(schema)
    except SchemaError as e:
        raise ModelError(f"{schema_name(schema)} is not a valid JSON Schema: {e.message}") from e
    return cls(schema, format_checker=FormatChecker())


def _validated(text: str, schema: dict[str, Any]) -> Any:
    """The JSON value of `text`, if it is an instance of `schema`."""
    value = json.loads(text)
    error = next(iter(_validator(_key(schema)).iter_errors(value)), None)
    if error is not None:
        raise error
    return value


def finish(completion: Completion, schema: Schema | None, max_tokens: int) -> Completion:
    """Fill `parsed` of a schema-constrained completion, or refuse one that fails validation,
    a completion cut off by max_tokens among them. One that a decoder closed early to end
    within max_tokens is valid and kept, still marked finish_reason "length"."""
    if schema is None:
        return completion
    name = schema_name(schema)
    try:
        if isinstance(schema, type):
            parsed: Any = schema.model_validate_json(completion.text)
        else:
            parsed = _validated(completion.text, schema)
    except (ValidationError, json.JSONDecodeError, SchemaViolation) as e:
        if completion.finish_reason == "length":
            raise CompletionError(
                f"{completion.model} hit max_tokens={max_tokens} before finishing a {name}: "
                "raise max_tokens or bound the schema's strings and arrays",
                completion,
            ) from e
        first = _problem(e)
        raise CompletionError(
            f"{completion.model} returned text that is not a valid {name}: {first}", completion
        ) from e
    warnings = _compiled(_key(schema)).warnings
    return completion.model_copy(update={"parsed": parsed, "schema_warnings": warnings})


def _problem(error: ValidationError | json.JSONDecodeError | SchemaViolation) -> str:
    if isinstance(error, ValidationError):
        return f"{validation_problem(error, '(root)')} ({error.error_count()} errors)"
    if isinstance(error, SchemaViolation):
        return f"{error.json_path}: {error.message}"
    return str(error).splitlines()[0]
