"""The grammar engines the benches compare, over one tokenizer: the bundled model's.

- ours: schemas.grammar compiled to GBNF, enforced by llama.cpp's grammar sampler;
- llamacpp: llama-cpp-python's own JSON-Schema converter, enforced by the same sampler;
- llguidance and xgrammar (the optional extra `bench`): their JSON-Schema compilers and
  matchers. A missing one is skipped with a note.

Each instance goes through an engine token by token (the llama.cpp tokenization of its
text). Ours gets the one canonical text its grammar prescribes; a baseline gets the
benefit of the doubt: a valid instance counts as accepted when any of three serializations
is (ours, required properties first, the instance's own key order), an invalid one as
rejected only when all three are.
"""

import contextlib
import json
from collections.abc import Callable
from functools import partial
from typing import Any

BASELINES = ("llamacpp", "llguidance", "xgrammar")
Acceptor = Callable[[list[int]], bool]  # token ids -> accepted and complete


def available(names: list[str]) -> tuple[list[str], list[str]]:
    """(the engines that can run here, notes on those that cannot)."""
    kept, notes = [], []
    for name in names:
        module = {"llguidance": "llguidance", "xgrammar": "xgrammar"}.get(name)
        if module is None:
            kept.append(name)
            continue
        try:
            __import__(module)
            kept.append(name)
        except ImportError:
            notes.append(f"{name}: not installed (pip install 'waypoint[bench]'), skipped")
    return kept, notes


class Engines:
    """The engines, loaded once over one vocabulary."""

    def __init__(self, model_path: str, names: list[str], options: Any, formats: str) -> None:
        from models.matcher import Vocab

        self.vocab = Vocab(model_path)
        self.names = names
        self.options = options
        self.formats = formats
        self._ll_tokenizer: Any = None
        self._xg_compiler: Any = None

    def tokens(self, text: str) -> list[int] | None:
        ids = self.vocab.tokenize(text)
        spelled = b"".join(self.vocab.piece(t) for t in ids)
        return ids if spelled == text.encode() else None

    # -- ours -----------------------------------------------------------------------------

    def ours(self, record: dict) -> dict:
        from models.matcher import acceptor
        from schemas.grammar.conformance import check_record

        engine = partial(acceptor, self.vocab)
        outcome = check_record(record, engine, self.options, formats=self.formats)
        return {
            "status": outcome.status,
            "reason": outcome.reason,
            "warnings": outcome.warnings,
            "passed": outcome.passed,
            "results": [(r.valid, r.accepted, r.text[:200]) for r in outcome.results],
        }

    # -- baselines ------------------------------------------------------------------------

    def baseline(self, name: str, record: dict) -> dict:
        try:
            accepts = getattr(self, f"load_{name}")(record["schema"])
        except Exception as e:  # the engine's refusal, in its own words
            return {"status": "refused", "reason": f"{type(e).__name__}: {e}"[:300]}
        results = []
        for test in record["tests"]:
            forms = [self.tokens(t) for t in self.serializations(test["data"], record["schema"])]
            forms = [f for f in forms if f is not None]
            if not forms:
                continue
            verdicts = [accepts(f) for f in forms]
            accepted = any(verdicts) if test["valid"] else all(verdicts)
            results.append((bool(test["valid"]), accepted, ""))
        passed = all(v == a for v, a, _ in results)
        return {"status": "compiled", "passed": passed, "results": results}

    def serializations(self, data: Any, schema: Any) -> list[str]:
        from schemas.grammar import canonical_json

        raw = json.dumps(data, ensure_ascii=False, separators=(",", ":"))
        forms = [raw]
        for required_first in (False, True):
            # a schema our canonical form cannot read: the raw text stays
            with contextlib.suppress(Exception):
                forms.append(canonical_json(data, schema, required_first=required_first))
        return list(dict.fromkeys(forms))

    def load_llamacpp(self, schema: Any) -> Acceptor:
        from llama_cpp.llama_grammar import json_schema_to_gbnf

        from models.matcher import GrammarMatcher

        gbnf = json_schema_to_gbnf(json.dumps(schema))
        GrammarMatcher(self.vocab, gbnf)  # raises if llama.cpp cannot parse it

        def accepts(tokens: list[int]) -> bool:
            matcher = GrammarMatcher(self.vocab, gbnf)
            for t in tokens:
                if not matcher.allows(t):
                    return False
                matcher.accept(t)
            return matcher.can_end()

        return accepts

    def ll_tokenizer(self) -> Any:
        if self._ll_tokenizer is None:
            from llguidance.llamacpp import lltokenizer_from_vocab

            self._ll_tokenizer = lltokenizer_from_vocab(self.vocab.ptr)
        return self._ll_tokenizer

    def load_llguidance(self, schema: Any) -> Acceptor:
        from llguidance import LLMatcher

        grammar = LLMatcher.grammar_from_json_schema(json.dumps(schema))
        first = LLMatcher(self.ll_tokenizer(), grammar, log_level=0)
        if first.is_error():
            raise ValueError(first.get_error())

        def accepts(tokens: list[int]) -> bool:
            matcher = LLMatcher(self.ll_tokenizer(), grammar, log_level=0)
            return all(matcher.consume_token(t) for t in tokens) and matcher.is_accepting()

        return accepts

    def xg_compiler(self) -> Any:
        if self._xg_compiler is None:
            import xgrammar

            pieces = [self.vocab.piece(i) for i in range(self.vocab.size)]
            info = xgrammar.TokenizerInfo(
                pieces, vocab_type=xgrammar.VocabType.RAW, stop_token_ids=[self.vocab.eos]
            )
            self._xg_compiler = xgrammar.GrammarCompiler(info, max_threads=1)
        return self._xg_compiler

    def load_xgrammar(self, schema: Any) -> Acceptor:
        import xgrammar

        compiled = self.xg_compiler().compile_json_schema(
            json.dumps(schema), any_whitespace=True, strict_mode=False
        )

        def accepts(tokens: list[int]) -> bool:
            matcher = xgrammar.GrammarMatcher(compiled)
            if not all(matcher.accept_token(t) for t in tokens):
                return False
            return matcher.accept_token(self.vocab.eos)

        return accepts
