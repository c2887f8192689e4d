"""A schema with test instances, checked against the engine that enforces its grammar.

Records are in the MaskBench format: `{"schema": …, "tests": [{"data": …, "valid": …}]}`
(the JSON Schema conformance suite comes converted to it). The schema is compiled, or
refused with a clear error, or proven to admit no value at all; a compiled grammar is
loaded into the engine and every instance, written in the grammar's canonical form, must
be accepted when valid and rejected when not. The engine is passed in (schemas/ runs no
model): a function from GBNF to an acceptor of texts, which returns None for a text its
vocabulary cannot spell.
"""

from collections.abc import Callable
from typing import Any, Literal

from pydantic import BaseModel

from schemas.grammar.canonical import canonical_json
from schemas.grammar.compiler import GrammarOptions, compile_grammar
from schemas.grammar.errors import EmptySchema, GrammarError
from schemas.grammar.rewrite import FormatPolicy

Acceptor = Callable[[str], bool | None]
Engine = Callable[[str], Acceptor]  # raises for a grammar the engine cannot load


class InstanceResult(BaseModel):
    valid: bool
    accepted: bool
    text: str


class RecordResult(BaseModel):
    status: Literal["compiled", "refused", "empty", "crashed"]
    reason: str = ""
    warnings: list[str] = []
    results: list[InstanceResult] = []

    @property
    def passed(self) -> bool:
        """Every instance judged right: by the grammar, or, for a schema proven to admit
        nothing, by that proof (then no instance may be valid)."""
        if self.status == "empty":
            return bool(self.results) and not any(r.valid for r in self.results)
        return self.status == "compiled" and all(r.valid == r.accepted for r in self.results)


def check_record(
    record: dict[str, Any],
    engine: Engine,
    options: GrammarOptions | None = None,
    formats: FormatPolicy = "assert",
) -> RecordResult:
    schema, tests = record["schema"], record["tests"]
    try:
        grammar = compile_grammar(schema, options, formats=formats)
    except EmptySchema as e:
        results = [InstanceResult(valid=t["valid"], accepted=False, text="") for t in tests]
        return RecordResult(status="empty", reason=str(e), results=results)
    except GrammarError as e:
        return RecordResult(status="refused", reason=str(e))
    except Exception as e:  # a crash is a bug in the compiler: counted, never hidden
        return RecordResult(status="crashed", reason=f"{type(e).__name__}: {e}")
    try:
        accepts = engine(grammar.gbnf)
    except Exception as e:
        return RecordResult(status="crashed", reason=f"the engine cannot load it: {e}")
    results = []
    for test in tests:
        text = canonical_json(test["data"], schema, formats=formats)
        accepted = accepts(text)
        if accepted is not None:
            results.append(InstanceResult(valid=bool(test["valid"]), accepted=accepted, text=text))
    return RecordResult(status="compiled", warnings=grammar.warnings, results=results)
