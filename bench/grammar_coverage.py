"""Grammar coverage on MaskBench-style schemas: ours against llama-cpp-python's converter.

For every schema: compile it (or record a clear refusal, or a crash), load the grammar into
llama.cpp, and feed each test instance token by token with the bundled model's vocabulary.
Instances are serialized the way each grammar prescribes before the check: declared
property order (llama.cpp's converter puts required properties first), compact
separators, `json.dumps` string escaping, no exponents. Valid instances must be accepted,
invalid ones rejected. The grammar is never loosened to pass an instance.

    python bench/grammar_coverage.py [--data DIR] [--limit N]

The last line of output is one JSON object with the totals.
"""

import argparse
import gzip
import json
import multiprocessing as mp
import sys
from collections import Counter
from pathlib import Path
from typing import Any

DEFAULT_DATA = Path(__file__).resolve().parents[1].parent / "shared" / "data" / "maskbench"
TIMEOUT_S = 60.0


def compile_side(side: str, schema: Any, options: Any) -> tuple[str, str | None, str]:
    """(status, gbnf, reason) for one compiler."""
    from llama_cpp.llama_grammar import json_schema_to_gbnf

    from schemas.grammar import GrammarError, compile_grammar

    if side == "base":
        try:
            return "compiled", json_schema_to_gbnf(json.dumps(schema)), ""
        except Exception as e:
            return "failed", None, f"{type(e).__name__}: {e}"
    try:
        grammar = compile_grammar(schema, options)
        return "compiled", grammar.gbnf, "; ".join(grammar.warnings)
    except GrammarError as e:
        return "refused", None, str(e)
    except Exception as e:  # a crash is a bug in the compiler: counted, never hidden
        return "crashed", None, f"{type(e).__name__}: {e}"


def check_side(side: str, record: dict, vocab: Any, options: Any) -> dict:
    """Compile with one compiler and feed every test instance through llama.cpp."""
    from models.matcher import GrammarLoadError, GrammarMatcher
    from schemas.grammar import canonical_json

    schema = record["schema"]
    status, gbnf, reason = compile_side(side, schema, options)
    out: dict[str, Any] = {
        "status": status,
        "reason": reason,
        "warnings": bool(reason) and status == "compiled",
    }
    if gbnf is None:
        return out
    try:
        GrammarMatcher(vocab, gbnf)
    except GrammarLoadError:
        return {
            "status": "crashed" if side == "ours" else "failed",
            "reason": "llama.cpp could not parse it",
        }
    results = []
    for test in record["tests"]:
        text = canonical_json(test["data"], schema, required_first=side == "base")
        accepted, _ = GrammarMatcher(vocab, gbnf).match(text)
        results.append((bool(test["valid"]), accepted, text[:200]))
    out["results"] = results
    return out


def _worker(conn: Any, model_path: str, max_string: int, max_items: int) -> None:
    import os

    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, 1)  # llama.cpp prints rejected grammars; the bench reports them itself
    os.dup2(devnull, 2)
    from models.matcher import Vocab
    from schemas.grammar import GrammarOptions

    vocab = Vocab(model_path)
    options = GrammarOptions(max_string_length=max_string, max_items=max_items)
    while True:
        task = conn.recv()
        if task is None:
            return
        side, record = task
        conn.send(check_side(side, record, vocab, options))


class Checker:
    """Runs checks in a child process so a hung or aborted llama.cpp cannot stop the bench."""

    def __init__(self, *args: Any) -> None:
        self.args = args
        self._start()

    def _start(self) -> None:
        self.conn, child = mp.Pipe()
        self.proc = mp.Process(target=_worker, args=(child, *self.args), daemon=True)
        self.proc.start()

    def check(self, record: dict) -> dict:
        return {side: self.check_side(side, record) for side in ("ours", "base")}

    def check_side(self, side: str, record: dict) -> dict:
        self.conn.send((side, record))
        if self.conn.poll(TIMEOUT_S):
            try:
                return self.conn.recv()
            except EOFError:
                pass
        self.proc.kill()
        self.proc.join()
        self._start()
        return {"status": "crashed" if side == "ours" else "failed", "reason": "timeout or abort"}

    def close(self) -> None:
        self.conn.send(None)
        self.proc.join(timeout=5)


def tally(outcomes: list[dict]) -> dict[str, int]:
    t: Counter = Counter()
    for o in outcomes:
        t["schemas"] += 1
        ours, base = o["ours"], o["base"]
        t[ours["status"]] += 1
        t["with_warnings"] += bool(ours.get("warnings"))
        for valid, accepted, _ in ours.get("results", []):
            t["valid_total" if valid else "invalid_total"] += 1
            t["valid_accepted"] += valid and accepted
            t["invalid_rejected"] += (not valid) and not accepted
        if ours.get("results") is not None and all(v == a for v, a, _ in ours["results"]):
            t["passed"] += 1
        if base["status"] == "compiled" and "results" in base:
            t["baseline_compiled"] += 1
            for valid, accepted, _ in base["results"]:
                t["baseline_valid_total" if valid else "baseline_invalid_total"] += 1
                t["baseline_valid_accepted"] += valid and accepted
                t["baseline_invalid_rejected"] += (not valid) and not accepted
            if all(v == a for v, a, _ in base["results"]):
                t["baseline_passed"] += 1
    return dict(t)


KEYS = [
    "schemas", "compiled", "refused", "crashed", "valid_accepted", "valid_total",
    "invalid_rejected", "invalid_total", "baseline_compiled", "baseline_valid_accepted",
    "baseline_invalid_rejected",
]  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--data", type=Path, default=DEFAULT_DATA, help="folder of *.jsonl.gz")
    parser.add_argument("--limit", type=int, default=0, help="schemas per group (0: all)")
    parser.add_argument("--failures", type=Path, help="write failing cases here (JSONL)")
    parser.add_argument("--max-string", type=int, default=1999, help="cap for unbounded strings")
    parser.add_argument("--max-items", type=int, default=256, help="cap for unbounded arrays")
    args = parser.parse_args()
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
    from rich.console import Console
    from rich.progress import Progress
    from rich.table import Table

    from models.bundled import bundled_model_path

    files = sorted(args.data.glob("*.jsonl.gz"))
    if not files:
        sys.exit(f"error: no *.jsonl.gz files in {args.data}")
    checker = Checker(str(bundled_model_path()), args.max_string, args.max_items)
    groups: dict[str, list[dict]] = {}
    failures = []
    with Progress(console=Console(stderr=True), transient=True) as progress:
        for f in files:
            with gzip.open(f, "rt") as lines:
                records = [json.loads(line) for line in lines]
            records = records[: args.limit] if args.limit else records
            name = f.name.removesuffix(".jsonl.gz")
            task = progress.add_task(name, total=len(records))
            outcomes = []
            for record in records:
                outcome = checker.check(record)
                outcomes.append(outcome)
                if _failed(outcome["ours"]):
                    failures.append(
                        {"group": name, "id": record.get("id"), "ours": outcome["ours"]}
                    )
                progress.advance(task)
            groups[name] = outcomes
    checker.close()
    if args.failures:
        args.failures.write_text("".join(json.dumps(f) + "\n" for f in failures))
    table = Table(title="Grammar coverage (ours | llama-cpp-python converter)")
    columns = ["group", "schemas", "compiled", "refused", "crashed", "passed", "valid acc."]
    columns += [
        "invalid rej.",
        "base compiled",
        "base passed",
        "base valid acc.",
        "base invalid rej.",
    ]
    for col in columns:
        table.add_column(col, justify="right")
    totals: Counter = Counter()
    for name, outcomes in groups.items():
        t = tally(outcomes)
        totals.update(t)
        table.add_row(name, *_row(t))
    table.add_row("total", *_row(totals), style="bold")
    Console(width=200).print(table)
    print(
        "Instances are normalised to each grammar's canonical form before checking; our caps for "
        f"strings/arrays without maxLength/maxItems: {args.max_string}/{args.max_items}."
    )
    summary = {k: totals.get(k, 0) for k in KEYS}
    summary.update(
        passed=totals.get("passed", 0),
        baseline_passed=totals.get("baseline_passed", 0),
        with_warnings=totals.get("with_warnings", 0),
        baseline_valid_total=totals.get("baseline_valid_total", 0),
        baseline_invalid_total=totals.get("baseline_invalid_total", 0),
    )
    print(json.dumps(summary))


def _failed(ours: dict) -> bool:
    if ours["status"] == "crashed":
        return True
    return any(v != a for v, a, _ in ours.get("results", []))


def _pct(a: int, b: int) -> str:
    return f"{a}/{b}" if b else "-"


def _row(t: Any) -> list[str]:
    return [
        str(t.get("schemas", 0)), str(t.get("compiled", 0)), str(t.get("refused", 0)),
        str(t.get("crashed", 0)), str(t.get("passed", 0)),
        _pct(t.get("valid_accepted", 0), t.get("valid_total", 0)),
        _pct(t.get("invalid_rejected", 0), t.get("invalid_total", 0)),
        str(t.get("baseline_compiled", 0)), str(t.get("baseline_passed", 0)),
        _pct(t.get("baseline_valid_accepted", 0), t.get("baseline_valid_total", 0)),
        _pct(t.get("baseline_invalid_rejected", 0), t.get("baseline_invalid_total", 0)),
    ]  # fmt: skip


if __name__ == "__main__":
    main()
