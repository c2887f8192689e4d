"""Grammar coverage on MaskBench-style records: ours beside llama-cpp-python's converter,
llguidance and XGrammar, on the same schemas and instances, with the bundled model's
tokenizer (see grammar_engines.py for how each engine is fed).

For every schema, ours compiles it, refuses it with a clear error, or proves that it admits
nothing ("empty"; that counts as passed when no instance is valid); a compiled grammar
goes into llama.cpp and every instance, written in the grammar's canonical form, must be
accepted when valid and rejected when invalid. A crash (an exception, or a grammar
llama.cpp cannot load) is a bug, counted and listed. A schema *passes* when every one of
its instances is judged right; that is the figure compared across engines, per group.
`--formats` is ours' policy for `format`: asserted, or an annotation (as the JSON Schema
conformance suite reads it). Records whose ids name a keyword file (the conformance
suite) also get a table per keyword.

A schema without instances passes on compiling alone, whatever its grammar admits (most
of MaskBench's Handwritten group has none). `--probe` gives such a schema small values of
every type as instances, each labelled valid or invalid by jsonschema, so that an engine
that compiles it by dropping a keyword shows it.

    python bench/grammar_coverage.py [--data DIR] [--limit N] [--formats assert|annotate]
        [--engines ours,llamacpp,llguidance,xgrammar] [--failures FILE] [--by-keyword] [--probe]

Examples:
    python bench/grammar_coverage.py --limit 20
    python bench/grammar_coverage.py --data DIR_WITH_Handwritten --probe
    python bench/grammar_coverage.py --data ../shared/data/json-schema-test-suite --formats annotate

The last line of output is one JSON object with the totals.
"""

import argparse
import gzip
import json
import multiprocessing as mp
import sys
from collections import Counter, defaultdict
from pathlib import Path
from typing import Any

DEFAULT_DATA = Path(__file__).resolve().parents[1].parent / "shared" / "data" / "maskbench"
TIMEOUT_S = 60.0
ENGINES = ["ours", "llamacpp", "llguidance", "xgrammar"]
PROBES = [
    None, True, False, 0, 1, 2, 3, 5, 6, 7, 8, 10, 12, 15, 20, 24, 30, 60, -1, -7, 1.5, "", "a",
    "ab", "abc", "2024-01-31", [], [1], [1, 1], ["a", 1], {}, {"a": 1}, {"a": {}},
    {"a": {"a": {}}}, {"b": 1}, {"a": 1, "b": 2}, {"foo": "bar"}, {"x": None},
]  # fmt: skip


def probe_tests(schema: Any, formats: str) -> list[dict]:
    """`PROBES` as instances of `schema`, labelled by jsonschema (formats per the policy);
    none where jsonschema cannot read the schema. Without `$schema`, a schema that uses
    `dependencies` is read as draft 7, the last draft that has it (2020-12 ignores it, the
    compiler enforces it)."""
    from jsonschema import validators

    legacy = '"dependencies"' in json.dumps(schema)
    default = validators.Draft7Validator if legacy else validators.Draft202012Validator
    try:
        cls = validators.validator_for(schema, default=default)
        checker = cls.FORMAT_CHECKER if formats == "assert" else None
        validator = cls(schema, format_checker=checker)
        return [{"data": p, "valid": validator.is_valid(p)} for p in PROBES]
    except Exception:  # an unreadable schema (a bad $ref, a bad pattern): no labels
        return []


def _worker(conn: Any, model_path: str, names: list[str], caps: tuple, formats: str) -> None:
    import os

    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, 1)  # llama.cpp prints rejected grammars; the bench reports them itself
    os.dup2(devnull, 2)
    from grammar_engines import Engines

    from schemas.grammar import GrammarOptions

    options = GrammarOptions(max_string_length=caps[0], max_items=caps[1])
    engines = Engines(model_path, names, options, formats)
    while True:
        task = conn.recv()
        if task is None:
            return
        name, record = task
        conn.send(engines.ours(record) if name == "ours" else engines.baseline(name, record))


class Checker:
    """Runs checks in a child process so a hung or aborted engine cannot stop the bench."""

    def __init__(self, *args: Any) -> None:
        self.args = args
        self._start()

    def _start(self) -> None:
        self.conn, child = mp.Pipe()
        self.proc = mp.Process(target=_worker, args=(child, *self.args), daemon=True)
        self.proc.start()

    def check(self, name: str, record: dict) -> dict:
        self.conn.send((name, record))
        if self.conn.poll(TIMEOUT_S):
            try:
                return self.conn.recv()
            except EOFError:
                pass
        self.proc.kill()
        self.proc.join()
        self._start()
        return {"status": "crashed" if name == "ours" else "refused", "reason": "timeout or abort"}

    def close(self) -> None:
        self.conn.send(None)
        self.proc.join(timeout=5)


def tally(outcomes: list[dict], engines: list[str]) -> dict[str, Counter]:
    """Counts per engine: statuses, passed schemas, instances judged right."""
    out: dict[str, Counter] = {name: Counter() for name in engines}
    for outcome in outcomes:
        for name in engines:
            o, t = outcome[name], out[name]
            t["schemas"] += 1
            t[o["status"]] += 1
            t["passed"] += bool(o.get("passed"))
            if o.get(
                "results"
            ):  # a schema with instances: passing means something beyond compiling
                t["tested"] += 1
                t["passed_tested"] += bool(o.get("passed"))
            t["with_warnings"] += bool(o.get("warnings"))
            if o["status"] != "compiled":
                continue
            for valid, accepted, _ in o.get("results", []):
                t["valid_total" if valid else "invalid_total"] += 1
                t["valid_accepted"] += valid and accepted
                t["invalid_rejected"] += (not valid) and not accepted
    return out


def keyword(record: dict) -> list[str]:
    """The keyword file of a conformance-suite record, else the record's MaskBench features."""
    rid = str(record.get("id", ""))
    if rid.startswith("JSTS---"):
        return [rid.split("---", 1)[1].rsplit("-", 1)[0]]
    return list((record.get("meta") or {}).get("features") or ["(none)"])


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--data", type=Path, default=DEFAULT_DATA, help="folder of *.jsonl.gz")
    parser.add_argument("--limit", type=int, default=0, help="schemas per group (0: all)")
    parser.add_argument("--failures", type=Path, help="write ours' failing cases here (JSONL)")
    parser.add_argument("--max-string", type=int, default=1999, help="cap for unbounded strings")
    parser.add_argument("--max-items", type=int, default=256, help="cap for unbounded arrays")
    parser.add_argument("--formats", choices=["assert", "annotate"], default="assert")
    parser.add_argument("--engines", default=",".join(ENGINES), help="comma-separated")
    parser.add_argument("--by-keyword", action="store_true", help="a table per keyword/feature")
    parser.add_argument(
        "--probe", action="store_true", help="small labelled instances for schemas with none"
    )
    args = parser.parse_args()
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
    from grammar_engines import available
    from rich.console import Console
    from rich.progress import Progress

    from models.bundled import bundled_model_path

    files = sorted(args.data.glob("*.jsonl.gz"))
    if not files:
        sys.exit(f"error: no *.jsonl.gz files in {args.data}")
    engines, notes = available(["ours", *[e for e in args.engines.split(",") if e != "ours"]])
    caps = (args.max_string, args.max_items)
    checker = Checker(str(bundled_model_path()), engines, caps, args.formats)
    groups: dict[str, list[dict]] = {}
    records_by_group: dict[str, list[dict]] = {}
    failures = []
    with Progress(console=Console(stderr=True), transient=True) as progress:
        for f in files:
            with gzip.open(f, "rt") as lines:
                records = [json.loads(line) for line in lines]
            records = records[: args.limit] if args.limit else records
            if args.probe:
                for r in records:
                    r["tests"] = r["tests"] or probe_tests(r["schema"], args.formats)
            name = f.name.removesuffix(".jsonl.gz")
            task = progress.add_task(name, total=len(records))
            outcomes = []
            for record in records:
                outcome = {e: checker.check(e, record) for e in engines}
                for o in outcome.values():
                    o["n_tests"] = len(record["tests"])
                outcomes.append(outcome)
                ours = outcome["ours"]
                wrong = ours["status"] == "compiled" and not ours.get("passed")
                if ours["status"] == "crashed" or wrong:
                    failures.append({"group": name, "id": record.get("id"), "ours": ours})
                progress.advance(task)
            groups[name], records_by_group[name] = outcomes, records
    checker.close()
    if args.failures:
        args.failures.write_text("".join(json.dumps(f) + "\n" for f in failures))
    totals = report(groups, engines, args)
    by_keyword = args.by_keyword or any(
        str(r.get("id", "")).startswith("JSTS---") for rs in records_by_group.values() for r in rs
    )
    if by_keyword:
        keyword_table(groups, records_by_group, engines)
    for note in notes:
        print(f"note: {note}")
    summary = summary_json(groups, totals, engines, args)
    print(json.dumps(summary))


def report(groups: dict[str, list[dict]], engines: list[str], args: Any) -> dict[str, Counter]:
    from rich.console import Console
    from rich.table import Table

    console = Console(width=220)
    ours = Table(title=f"Ours (formats: {args.formats}; caps {args.max_string}/{args.max_items})")
    cols = ["group", "schemas", "compiled", "refused", "empty", "crashed", "warned", "passed"]
    for col in [*cols, "valid acc.", "invalid rej."]:
        ours.add_column(col, justify="right")
    side = Table(
        title="Schemas passing every instance (compiled) [of those with instances: passed/tested]"
    )
    side.add_column("group", justify="right")
    for name in engines:
        side.add_column(name, justify="right")
    totals: dict[str, Counter] = {name: Counter() for name in engines}
    for group, outcomes in [*groups.items(), ("total", None)]:
        t = tally(outcomes, engines) if outcomes is not None else totals
        if outcomes is not None:
            for name in engines:
                totals[name].update(t[name])
        o = t["ours"]
        row = [str(o.get(k, 0)) for k in ("schemas", "compiled", "refused", "empty", "crashed")]
        row += [str(o.get("with_warnings", 0)), str(o.get("passed", 0))]
        row += [_ratio(o, "valid_accepted", "valid_total"),
                _ratio(o, "invalid_rejected", "invalid_total")]  # fmt: skip
        style = "bold" if outcomes is None else None
        ours.add_row(group, *row, style=style)
        side.add_row(
            group,
            *[
                f"{t[n].get('passed', 0)} ({t[n].get('compiled', 0)}) "
                f"[{t[n].get('passed_tested', 0)}/{t[n].get('tested', 0)}]"
                for n in engines
            ],
            style=style,
        )
    console.print(ours)
    console.print(side)
    print(
        "Instances are written in each grammar's canonical form (ours) or the best of three "
        "serializations (baselines); 'empty': proven to admit no value, passed when no "
        "instance is valid."
    )
    return totals


def keyword_table(groups: dict, records: dict, engines: list[str]) -> None:
    from rich.console import Console
    from rich.table import Table

    rows: dict[str, Counter] = defaultdict(Counter)
    for group, outcomes in groups.items():
        for record, outcome in zip(records[group], outcomes, strict=True):
            for key in keyword(record):
                rows[key]["groups"] += 1
                rows[key]["ours compiled"] += outcome["ours"]["status"] == "compiled"
                for name in engines:
                    rows[key][name] += bool(outcome[name].get("passed"))
    table = Table(title="Per keyword: groups, ours compiled, passed per engine")
    for col in ["keyword", "groups", "ours compiled", *engines]:
        table.add_column(col, justify="right")
    for key in sorted(rows):
        table.add_row(key, *[str(rows[key][c]) for c in ["groups", "ours compiled", *engines]])
    Console(width=220).print(table)


def summary_json(groups: dict, totals: dict[str, Counter], engines: list[str], args: Any) -> dict:
    o = totals["ours"]
    keys = ["schemas", "compiled", "refused", "empty", "crashed", "passed", "with_warnings",
            "valid_accepted", "valid_total", "invalid_rejected", "invalid_total"]  # fmt: skip
    summary: dict[str, Any] = {k: o.get(k, 0) for k in keys}
    summary["formats"] = args.formats
    for name in engines[1:]:
        summary[f"{name}_compiled"] = totals[name].get("compiled", 0)
        summary[f"{name}_passed"] = totals[name].get("passed", 0)
    summary["passed_by_group"] = {
        group: {n: t.get("passed", 0) for n, t in tally(outcomes, engines).items()}
        for group, outcomes in groups.items()
    }
    summary["passed_of_tested_by_group"] = {
        group: {n: t.get("passed_tested", 0) for n, t in tally(outcomes, engines).items()}
        for group, outcomes in groups.items()
    }
    return summary


def _ratio(t: Counter, a: str, b: str) -> str:
    return f"{t.get(a, 0)}/{t.get(b, 0)}" if t.get(b, 0) else "-"


if __name__ == "__main__":
    main()
