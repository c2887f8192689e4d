"""Argument accuracy of waypoint's tool caller on held-out function-calling cases.

Cases (`tools.calls.cases`) are tasks in free wording for the tools that derive arguments
(send_email, create_event, calculate, and the MCP tool convert_units), from an atlas world
and wordings that training never sees. Each call is judged by executing it with the real
tool and reading back its effect (`tools.calls.intents`). Two paths per model: `model`, the
model writes every call (what a trained tool caller changes), and `shipped`, the tool as
it ships (its rules first, the model where they cannot read the task). The zero-shot tool
caller is the bundled model; the trained one is the same base with a tool-caller adapter
(GGUF LoRA, `waypoint finetune tool-caller`), run in the same process as its base.

    python bench/tool_arguments.py                              # zero-shot only
    python bench/tool_arguments.py --adapter runs/tc/tool_caller.gguf --cases 120

Forgetting (continual learning): several adapters, named, side by side in one process (the
base loaded once, the adapter switched per call), on the old tools' held-out cases: the
adapter before a tool was added, and after, trained with and without replay.

    python bench/tool_arguments.py --tools send_email,create_event,calculate \
        --adapter before=runs/tool-caller/tool_caller.gguf \
        --adapter replay=runs/tc-units/tool_caller.gguf \
        --adapter no_replay=runs/tc-units-no-replay/tool_caller.gguf

The last line is JSON: `zero_shot` and `trained` (the first adapter; null without
--adapter) are model-path accuracies on the held-out cases, `accuracy` has every adapter's;
`detail` has both paths per tool.
"""

import argparse
import json
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

HELDOUT_WORLD = 2  # a world no training data comes from (exploration uses others)
BASE = "zero_shot"


def named_adapters(specs: list[str]) -> dict[str, Path]:
    """--adapter [NAME=]PATH, repeated: the first unnamed one is `trained`."""
    named: dict[str, Path] = {}
    for i, spec in enumerate(specs):
        name, given, path = spec.partition("=")
        if not given:
            name, path = ("trained" if i == 0 else f"adapter_{i + 1}"), spec
        if not name or name == BASE or name in named:
            raise SystemExit(f"error: --adapter {spec!r}: the name must be new and not {BASE}")
        named[name] = Path(path)
    return named


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--cases", type=int, default=60, help="held-out cases (tools take turns)")
    parser.add_argument("--world", type=int, default=HELDOUT_WORLD, help="atlas world seed")
    parser.add_argument(
        "--adapter",
        action="append",
        default=[],
        metavar="[NAME=]PATH",
        help="a tool-caller GGUF LoRA of the bundled base (repeatable, NAME=PATH)",
    )
    parser.add_argument("--tools", default="send_email,create_event,calculate,convert_units")
    parser.add_argument("--paths", default="model,shipped", help="model, shipped or both")
    parser.add_argument("--threads", type=int, default=2)
    args = parser.parse_args()

    from rich.console import Console
    from rich.table import Table

    from models.adapters import AdaptedChatModel
    from models.bundled import bundled_model_path
    from tools.atlas.world import build_world
    from tools.calls.cases import make_cases
    from tools.calls.trial import accuracy, measure

    adapters = named_adapters(args.adapter)
    cases = make_cases(build_world(args.world), args.cases, "heldout", args.tools.split(","))
    base = AdaptedChatModel(
        bundled_model_path(), n_ctx=2048, n_threads=args.threads, adapters=adapters
    )
    callers = {BASE: base.with_adapter(None)} | {n: base.with_adapter(n) for n in adapters}
    detail: dict[str, dict] = {}
    with tempfile.TemporaryDirectory() as home:
        for label, model in callers.items():
            for path in args.paths.split(","):
                outcomes = measure(model, cases, path, Path(home) / label / path)  # type: ignore[arg-type]
                detail.setdefault(label, {})[path] = accuracy(outcomes).model_dump()
    table = Table(title=f"argument accuracy, {len(cases)} held-out cases (world {args.world})")
    table.add_column("tool caller")
    table.add_column("path")
    tools = sorted({c.tool for c in cases})
    for tool in [*tools, "all"]:
        table.add_column(tool, justify="right")
    for label, paths in detail.items():
        for path, figures in paths.items():
            cells = [f"{figures['per_tool'].get(t, 0):.2f}" for t in tools]
            table.add_row(label, path, *cells, f"{figures['overall']:.2f}")
    Console(stderr=True).print(table)
    model_path = {label: paths.get("model", {}).get("overall") for label, paths in detail.items()}
    print(
        json.dumps(
            {
                "bench": "tool_arguments",
                "cases": len(cases),
                "world": args.world,
                "zero_shot": model_path[BASE],
                "trained": model_path[next(iter(adapters))] if adapters else None,
                "accuracy": model_path,
                "adapters": {name: str(path) for name, path in adapters.items()},
                "detail": detail,
            }
        )
    )


if __name__ == "__main__":
    main()
