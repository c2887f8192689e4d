"""Pydantic / JSON Schema → GBNF, the grammar llama.cpp enforces while decoding."""

from schemas.grammar.canonical import canonical_json
from schemas.grammar.compiler import (
    Grammar,
    GrammarError,
    GrammarOptions,
    canonical_value_json,
    compile_grammar,
)

__all__ = [
    "Grammar",
    "GrammarError",
    "GrammarOptions",
    "canonical_json",
    "canonical_value_json",
    "compile_grammar",
]
