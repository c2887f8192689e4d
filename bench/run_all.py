"""Every benchmark once, at short settings, and one summary table (what `make bench` runs).

Each benchmark runs as its own process (its figures are its own, measured side by side
inside it) with arguments that keep it to a minute or two on a 2-core CPU; the last line
it prints is its JSON. A benchmark whose data is missing on this machine (the MaskBench
schemas) is reported as skipped; one that fails is reported with its last error line, and
the runner exits non-zero after the table. Full-length runs: call a benchmark directly.

    python bench/run_all.py                    # all of them
    python bench/run_all.py --only grammar_compile,prefix_reuse --json bench.json
"""

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.table import Table

BENCH = Path(__file__).resolve().parent
MASKBENCH = BENCH.parents[1] / "shared" / "data" / "maskbench"
# name → (short arguments, data it needs); "{tmp}" is a scratch folder of the run
SHORT: dict[str, tuple[list[str], Path | None]] = {
    "grammar_compile": (["--rounds", "2"], MASKBENCH),
    "grammar_coverage": (["--limit", "3"], MASKBENCH),
    "mcp_schemas": ([], None),
    "page_text": ([], None),
    "constrained_decode": (["--repeats", "1", "--attention", "off"], None),
    "prefix_reuse": (["--repeats", "2"], None),
    "never_cut": (["--plans", "20", "--seeds", "10"], None),
    "agent_turn": (["--atlas", "1", "--real", "1", "--min-steps", "3", "--max-steps", "3"], None),
    "adapters": (["--rounds", "2"], None),
    "tool_arguments": (["--cases", "8"], None),
    "train_speed": (["--requests", "4", "--steps", "1"], None),
    "pipeline": (
        ["--out", "{tmp}/pipeline", "--set", "train_requests=6", "--set", "eval_requests=1",
         "--set", "eval_runs=1", "--set", "finetune.max_steps=1", "--set", "verify_prompts=1",
         "--set", "real_requests=1"],
        None,
    ),
}  # fmt: skip
FIGURES_SHOWN = 4


def run(name: str, args: list[str], tmp: Path) -> dict[str, Any]:
    """The benchmark's outcome: status, seconds and its JSON (or the reason it has none)."""
    command = [sys.executable, str(BENCH / f"{name}.py"), *(a.format(tmp=tmp) for a in args)]
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "WAYPOINT_HOME": str(tmp / "home")}
    started = time.perf_counter()
    done = subprocess.run(command, capture_output=True, text=True, env=env, cwd=BENCH.parent)
    seconds = time.perf_counter() - started
    lines = done.stdout.strip().splitlines()
    if done.returncode != 0 or not lines:
        error = (done.stderr.strip().splitlines() or [f"exit {done.returncode}"])[-1]
        return {"status": "failed", "seconds": seconds, "error": error}
    try:
        figures = json.loads(lines[-1])
    except json.JSONDecodeError:
        return {"status": "failed", "seconds": seconds, "error": "its last line is not JSON"}
    return {"status": "ok", "seconds": seconds, "figures": figures}


def headline(figures: dict[str, Any]) -> str:
    """The first few top-level numbers: ratios, rates and totals."""
    numbers = [
        f"{key} {value:.3g}" if isinstance(value, float) else f"{key} {value}"
        for key, value in figures.items()
        if isinstance(value, int | float) and not isinstance(value, bool)
    ]
    return ", ".join(numbers[:FIGURES_SHOWN])


def main() -> None:
    raw = argparse.RawDescriptionHelpFormatter
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=raw)
    parser.add_argument("--only", help="comma-separated benchmark names")
    parser.add_argument("--json", type=Path, help="also write every outcome here")
    args = parser.parse_args()
    names = args.only.split(",") if args.only else list(SHORT)
    if unknown := set(names) - SHORT.keys():
        parser.error(f"no benchmark {', '.join(sorted(unknown))}; there are {', '.join(SHORT)}")
    console = Console(stderr=True)
    outcomes: dict[str, dict[str, Any]] = {}
    with tempfile.TemporaryDirectory(prefix="waypoint-bench-") as tmp:
        for name in names:
            short, data = SHORT[name]
            if data is not None and not data.is_dir():
                outcomes[name] = {"status": "skipped", "seconds": 0.0, "error": f"no {data}"}
                continue
            with console.status(f"bench {name}…"):
                outcomes[name] = run(name, short, Path(tmp))
    table = Table("benchmark", "status", "seconds", "figures", title="benchmarks (short runs)")
    for name, outcome in outcomes.items():
        detail = headline(outcome["figures"]) if "figures" in outcome else outcome["error"]
        table.add_row(name, outcome["status"], f"{outcome['seconds']:.0f}", detail)
    Console().print(table)
    if args.json:
        args.json.write_text(json.dumps(outcomes, indent=2))
    if any(o["status"] == "failed" for o in outcomes.values()):
        sys.exit(1)


if __name__ == "__main__":
    main()
