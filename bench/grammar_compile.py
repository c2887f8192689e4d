"""Compile time: our compiler against llama-cpp-python's converter, side by side, and the
time to load each grammar into llama.cpp.

Three workloads: the planner's Plan schema (seven tools), timed in interleaved rounds
(medians compared as a ratio, >1 means we are faster); every MaskBench schema that both
compilers accept, timed the same way; and every schema we compile, one by one: compile
time plus llama.cpp's grammar load time (the bundled vocabulary), with p50/p99/max and the
slowest schemas by size. The last line is one JSON object.

    python bench/grammar_compile.py [--data DIR] [--rounds N] [--limit N]
"""

import argparse
import gzip
import json
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
DEFAULT_DATA = ROOT.parent / "shared" / "data" / "maskbench"
TOOLS = [
    "search_wikipedia",
    "search_internet",
    "calculate",
    "ask_user",
    "send_email",
    "create_event",
    "final_answer",
]
SLOWEST = 5


def per_call_ms(fn: Callable[[], Any], repeat: int) -> float:
    start = time.perf_counter()
    for _ in range(repeat):
        fn()
    return (time.perf_counter() - start) / repeat * 1000


def interleaved(
    ours: Callable[[], Any], base: Callable[[], Any], rounds: int, repeat: int
) -> tuple[float, float]:
    a, b = [], []
    for _ in range(rounds):
        a.append(per_call_ms(ours, repeat))
        b.append(per_call_ms(base, repeat))
    return statistics.median(a), statistics.median(b)


def load_schemas(data: Path, limit: int) -> list[tuple[str, dict]]:
    out = []
    for f in sorted(data.glob("*.jsonl.gz")):
        with gzip.open(f, "rt") as lines:
            records = [json.loads(line) for line in lines]
        out += [(r.get("id", f.name), r["schema"]) for r in records[: limit or None]]
    return out


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))] if ordered else 0.0


def one_by_one(schemas: list[tuple[str, dict]], vocab: Any) -> dict[str, Any]:
    """Compile and load every schema we compile, each timed alone."""
    from models.matcher import GrammarLoadError, GrammarMatcher
    from schemas.grammar import GrammarError, GrammarOptions, compile_grammar

    options = GrammarOptions(max_string_length=1999, max_items=256)  # the coverage caps
    rows, unloadable = [], []
    for sid, schema in schemas:
        start = time.perf_counter()
        try:
            gbnf = compile_grammar(schema, options).gbnf
        except GrammarError:
            continue
        compiled = time.perf_counter()
        try:
            GrammarMatcher(vocab, gbnf)
        except GrammarLoadError:  # a compiler bug, named (the coverage bench counts it too)
            unloadable.append(sid)
            continue
        loaded = time.perf_counter()
        rows.append((sid, len(json.dumps(schema)), compiled - start, loaded - compiled, len(gbnf)))
    compile_s, load_s = [r[2] for r in rows], [r[3] for r in rows]
    total_s = [r[2] + r[3] for r in rows]
    slowest = sorted(rows, key=lambda r: r[2] + r[3], reverse=True)[:SLOWEST]
    return {
        "schemas_timed": len(rows),
        "compile_ms_p50": round(percentile(compile_s, 0.5) * 1000, 3),
        "compile_ms_p99": round(percentile(compile_s, 0.99) * 1000, 3),
        "compile_ms_max": round(max(compile_s, default=0) * 1000, 3),
        "load_ms_p50": round(percentile(load_s, 0.5) * 1000, 3),
        "load_ms_p99": round(percentile(load_s, 0.99) * 1000, 3),
        "load_ms_max": round(max(load_s, default=0) * 1000, 3),
        "total_ms_p99": round(percentile(total_s, 0.99) * 1000, 3),
        "total_ms_max": round(max(total_s, default=0) * 1000, 3),
        "slowest": [_row(*r) for r in slowest],
        "largest_schema_chars": max((r[1] for r in rows), default=0),
        "unloadable": unloadable,
    }


def _row(sid: str, size: int, compile_s: float, load_s: float, gbnf: int) -> dict:
    ms = {"compile_ms": round(compile_s * 1000, 1), "load_ms": round(load_s * 1000, 1)}
    return {"id": sid, "schema_chars": size, **ms, "gbnf_chars": gbnf}


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--data", type=Path, default=DEFAULT_DATA)
    parser.add_argument("--rounds", type=int, default=7)
    parser.add_argument("--limit", type=int, default=0, help="schemas per group (0: all)")
    args = parser.parse_args()
    sys.path.insert(0, str(ROOT))
    from llama_cpp.llama_grammar import json_schema_to_gbnf

    from models.bundled import bundled_model_path
    from models.matcher import Vocab
    from schemas.grammar import GrammarOptions, compile_grammar
    from schemas.plan import plan_model

    plan = plan_model(TOOLS)
    plan_schema = plan.model_json_schema()
    plan_text = json.dumps(plan_schema)
    # llama.cpp's converter closes objects without additionalProperties: compare that language
    closed = GrammarOptions(additional_properties=False)
    ours_plan, base_plan = interleaved(
        lambda: compile_grammar(plan_schema, closed),
        lambda: json_schema_to_gbnf(plan_text),
        args.rounds,
        200,
    )
    ours_class, _ = interleaved(lambda: compile_grammar(plan), lambda: None, args.rounds, 200)

    schemas = load_schemas(args.data, args.limit)
    both = []
    for _, schema in schemas:
        try:
            compile_grammar(schema)
            json_schema_to_gbnf(json.dumps(schema))
        except Exception:
            continue
        both.append((schema, json.dumps(schema)))

    def ours_all() -> None:
        for schema, _ in both:
            compile_grammar(schema)

    def base_all() -> None:
        for _, text in both:
            json_schema_to_gbnf(text)

    ours_mb, base_mb = interleaved(ours_all, base_all, max(3, args.rounds // 2), 1)
    result = {
        "plan_ms": round(ours_plan, 4),
        "plan_class_ms": round(ours_class, 4),
        "plan_baseline_ms": round(base_plan, 4),
        "plan_ratio_vs_baseline": round(base_plan / ours_plan, 3),
        "maskbench_schemas": len(both),
        "maskbench_ms_per_schema": round(ours_mb / max(len(both), 1), 4),
        "maskbench_baseline_ms_per_schema": round(base_mb / max(len(both), 1), 4),
        "maskbench_ratio_vs_baseline": round(base_mb / ours_mb, 3) if ours_mb else None,
        **one_by_one(schemas, Vocab(bundled_model_path())),
    }
    print(json.dumps(result))


if __name__ == "__main__":
    main()
