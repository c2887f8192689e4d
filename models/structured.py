"""Structured output, shared by every backend: a schema becomes a grammar on the way in
(compiled once, cached) and the text is parsed and validated on the way out."""

import json
from functools import lru_cache
from typing import Any, Literal

from pydantic import BaseModel, ValidationError

from models.chat_model import CompletionError, Schema
from schemas.chat import Completion
from schemas.errors import validation_problem
from schemas.grammar import compile_grammar

# How a schema reaches a server (see models/openai_compat.py).
GrammarMode = Literal["json_schema", "gbnf", "json_object", "none"]


def schema_name(schema: Schema) -> str:
    if isinstance(schema, type):
        return schema.__name__
    return str(schema.get("title") or "schema")


def json_schema(schema: Schema) -> dict[str, Any]:
    return schema.model_json_schema() if isinstance(schema, type) else schema


def grammar_for(schema: Schema) -> str:
    """The GBNF for a schema, compiled once per distinct schema."""
    # A Pydantic class is its own key; a dict is keyed by its canonical JSON text.
    key = schema if isinstance(schema, type) else json.dumps(schema, sort_keys=True)
    return _compiled(key)


@lru_cache(maxsize=256)
def _compiled(key: type[BaseModel] | str) -> str:
    schema = key if isinstance(key, type) else json.loads(key)
    return compile_grammar(schema).gbnf


def finish(completion: Completion, schema: Schema | None, max_tokens: int) -> Completion:
    """Refuse a schema-constrained completion that was cut off or fails validation; fill
    `parsed` otherwise."""
    if schema is None:
        return completion
    name = schema_name(schema)
    if completion.finish_reason == "length":
        raise CompletionError(
            f"{completion.model} hit max_tokens={max_tokens} before finishing a {name}: "
            "raise max_tokens or bound the schema's strings and arrays",
            completion,
        )
    try:
        if isinstance(schema, type):
            parsed: Any = schema.model_validate_json(completion.text)
        else:
            parsed = json.loads(completion.text)
    except (ValidationError, json.JSONDecodeError) as e:
        first = str(e).splitlines()[0] if isinstance(e, json.JSONDecodeError) else _problems(e)
        raise CompletionError(
            f"{completion.model} returned text that is not a valid {name}: {first}", completion
        ) from e
    return completion.model_copy(update={"parsed": parsed})


def _problems(error: ValidationError) -> str:
    return f"{validation_problem(error, '(root)')} ({error.error_count()} errors)"
