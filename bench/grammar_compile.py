"""Compile time: our compiler against llama-cpp-python's converter, side by side.

Two workloads: the planner's Plan schema (seven tools), and every MaskBench schema that
both compilers accept. Each is timed in interleaved rounds in one process; the medians
are compared as a ratio (>1 means we are faster). The last line is one JSON object.

    python bench/grammar_compile.py [--data DIR] [--rounds N]
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


def load_schemas(data: Path) -> list[dict]:
    return [
        json.loads(line)["schema"]
        for f in sorted(data.glob("*.jsonl.gz"))
        for line in gzip.open(f, "rt")
    ]


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--data", type=Path, default=DEFAULT_DATA)
    parser.add_argument("--rounds", type=int, default=7)
    args = parser.parse_args()
    sys.path.insert(0, str(ROOT))
    from llama_cpp.llama_grammar import json_schema_to_gbnf

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

    both = []
    for schema in load_schemas(args.data):
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
        "maskbench_ms_per_schema": round(ours_mb / len(both), 4),
        "maskbench_baseline_ms_per_schema": round(base_mb / len(both), 4),
        "maskbench_ratio_vs_baseline": round(base_mb / ours_mb, 3),
    }
    print(json.dumps(result))


if __name__ == "__main__":
    main()
