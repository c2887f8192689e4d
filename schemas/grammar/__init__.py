"""Pydantic / JSON Schema → GBNF, the grammar llama.cpp enforces while decoding."""

from schemas.grammar.canonical import canonical_json
from schemas.grammar.compiler import (
    Grammar,
    GrammarOptions,
    canonical_value_json,
    compile_grammar,
)
from schemas.grammar.errors import EmptySchema, GrammarError
from schemas.grammar.rewrite import FormatPolicy

__all__ = [
    "EmptySchema",
    "FormatPolicy",
    "Grammar",
    "GrammarError",
    "GrammarOptions",
    "canonical_json",
    "canonical_value_json",
    "compile_grammar",
]
