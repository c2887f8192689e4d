"""The per-token cost of constraining, engine against engine, in one run.

For MaskBench schemas that every engine compiles, the first valid instance of each is
walked token by token (the bundled model's tokenizer), and each engine does per token what
it does while decoding:
- ours: llama.cpp's grammar with the lazy check: is the sampled token allowed, then
  accept it (the fast decoder computes no mask for a token the grammar admits);
- llamacpp_full: llama.cpp's grammar masking the whole vocabulary (what a plain grammar
  sampler does every token), then accept;
- llguidance: its full token mask, then consume;
- xgrammar: its full token bitmask, then accept.
Grammar construction is not timed. Engines alternate instance by instance, so a shared
machine slows them alike; each figure is total time over total tokens, and the ratios
say how many times more a token costs the other engine than ours.

    python bench/grammar_mask.py [--data DIR] [--per-group N]

The last line is one JSON object.
"""

import argparse
import gzip
import json
import sys
import time
from pathlib import Path
from typing import Any

DEFAULT_DATA = Path(__file__).resolve().parents[1].parent / "shared" / "data" / "maskbench"


def workload(data: Path, per_group: int) -> list[tuple[dict, Any]]:
    """(schema, first valid instance) from each group."""
    out = []
    for f in sorted(data.glob("*.jsonl.gz")):
        taken = 0
        with gzip.open(f, "rt") as lines:
            for line in lines:
                record = json.loads(line)
                valid = [t["data"] for t in record["tests"] if t["valid"]]
                if valid and taken < per_group:
                    out.append((record["schema"], valid[0]))
                    taken += 1
    return out


class Runners:
    """One per-token loop per engine, over token ids that the grammar accepts."""

    def __init__(self, engines: Any) -> None:
        import ctypes

        import llama_cpp
        import numpy as np

        self.e = engines
        n = engines.vocab.size
        self.data = (llama_cpp.llama_token_data * n)()
        self.array = llama_cpp.llama_token_data_array(data=self.data, size=n, selected=-1)
        view = np.ctypeslib.as_array(
            (ctypes.c_byte * ctypes.sizeof(self.data)).from_buffer(self.data)
        )
        self.fields = view.view(np.dtype([("id", "<i4"), ("logit", "<f4"), ("p", "<f4")]))
        self.fields["id"] = np.arange(n)

    def ours(self, gbnf: str, tokens: list[int]) -> float:
        from models.matcher import GrammarMatcher

        m = GrammarMatcher(self.e.vocab, gbnf)
        start = time.perf_counter()
        for t in tokens:
            if not m.allows(t):
                raise ValueError("rejected")
            m.accept(t)
        return time.perf_counter() - start

    def llamacpp_full(self, gbnf: str, tokens: list[int]) -> float:
        from models.matcher import GrammarMatcher

        m = GrammarMatcher(self.e.vocab, gbnf)
        start = time.perf_counter()
        for t in tokens:
            self.fields["logit"] = 0.0
            self.array.size, self.array.selected, self.array.sorted = len(self.fields), -1, False
            m.apply(self.array)
            m.accept(t)
        return time.perf_counter() - start

    def llguidance(self, grammar: str, tokens: list[int]) -> float:
        from llguidance import LLMatcher

        m = LLMatcher(self.e.ll_tokenizer(), grammar, log_level=0)
        start = time.perf_counter()
        for t in tokens:
            m.compute_bitmask()
            if not m.consume_token(t):
                raise ValueError("rejected")
        return time.perf_counter() - start

    def xgrammar(self, compiled: Any, tokens: list[int]) -> float:
        import xgrammar

        m = xgrammar.GrammarMatcher(compiled)
        mask = xgrammar.allocate_token_bitmask(1, self.e.vocab.size)
        start = time.perf_counter()
        for t in tokens:
            m.fill_next_token_bitmask(mask)
            if not m.accept_token(t):
                raise ValueError("rejected")
        return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--data", type=Path, default=DEFAULT_DATA)
    parser.add_argument("--per-group", type=int, default=20, help="schemas per group")
    args = parser.parse_args()
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
    from grammar_engines import Engines, available
    from llguidance import LLMatcher

    from models.bundled import bundled_model_path
    from schemas.grammar import GrammarOptions, canonical_json, compile_grammar

    names, notes = available(["llguidance", "xgrammar"])
    if notes:
        sys.exit("error: " + "; ".join(notes))
    engines = Engines(str(bundled_model_path()), names, GrammarOptions(), "assert")
    runners = Runners(engines)
    seconds = {"ours": 0.0, "llamacpp_full": 0.0, "llguidance": 0.0, "xgrammar": 0.0}
    tokens_total, used = 0, 0
    for schema, instance in workload(args.data, args.per_group):
        try:
            gbnf = compile_grammar(schema, GrammarOptions(max_string_length=1999)).gbnf
            ll = LLMatcher.grammar_from_json_schema(json.dumps(schema))
            xg = engines.xg_compiler().compile_json_schema(
                json.dumps(schema), any_whitespace=True, strict_mode=False
            )
        except Exception:  # refused by one engine: no common walk
            continue
        tokens = engines.tokens(canonical_json(instance, schema))
        if not tokens:
            continue
        try:
            times = {
                "ours": runners.ours(gbnf, tokens),
                "llamacpp_full": runners.llamacpp_full(gbnf, tokens),
                "llguidance": runners.llguidance(ll, tokens),
                "xgrammar": runners.xgrammar(xg, tokens),
            }
        except ValueError:  # an engine rejects this instance: no common per-token walk
            continue
        for k, v in times.items():
            seconds[k] += v
        tokens_total += len(tokens)
        used += 1
    us = {k: round(v / max(tokens_total, 1) * 1e6, 2) for k, v in seconds.items()}
    result = {
        "schemas": used,
        "tokens": tokens_total,
        **{f"{k}_us_per_token": v for k, v in us.items()},
        **{f"{k}_vs_ours": round(v / us["ours"], 2) for k, v in us.items() if k != "ours"},
    }
    print(json.dumps(result))


if __name__ == "__main__":
    main()
