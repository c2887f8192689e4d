"""How many argument schemas of real MCP servers waypoint's compiler turns into grammars.

The tool lists were taken from the servers themselves (their `tools/list` answer, through
waypoint's MCP client) and are kept in tests/data/mcp_schemas/, one file per server. For
every tool: compile its argument schema as an MCP tool does (objects closed to their
declared keys, `tools.mcp.arguments`), beside llama-cpp-python's own converter on the raw
`inputSchema`; a schema counts for a compiler when the grammar it writes loads in llama.cpp.

    python bench/mcp_schemas.py                      # the figures; last line is JSON
    python bench/mcp_schemas.py --capture NAME 'COMMAND ARGS' [--package P==V]

--capture starts the server, lists its tools and writes tests/data/mcp_schemas/NAME.json.
"""

import argparse
import json
import sys
import tempfile
from collections import Counter
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
DATA = ROOT / "tests" / "data" / "mcp_schemas"


def capture(name: str, spec: str, package: str | None) -> Path:
    from tools.mcp.servers import parse_spec
    from tools.mcp.toolset import McpToolset

    server = parse_spec(spec).model_copy(update={"name": name})
    with tempfile.TemporaryDirectory() as logs, McpToolset([server], Path(logs)) as toolset:
        listed = toolset.connections[0].list_tools()
    record = {
        "server": name,
        "package": package,
        "tools": [
            {"name": t.name, "description": t.description, "inputSchema": t.input_schema}
            for t in listed
        ],
    }
    path = DATA / f"{name}.json"
    path.write_text(json.dumps(record, indent=2, ensure_ascii=False) + "\n")
    return path


def outcome(schema: dict[str, Any], vocab: Any) -> tuple[str, str]:
    """(ours, llama.cpp's): "ok", or why not."""
    from llama_cpp.llama_grammar import json_schema_to_gbnf

    from models.matcher import GrammarLoadError, GrammarMatcher
    from schemas.grammar import GrammarError, compile_grammar
    from tools.mcp.arguments import argument_schema

    results = []
    for make in (
        lambda: compile_grammar(argument_schema(schema)).gbnf,
        lambda: json_schema_to_gbnf(json.dumps(schema)),
    ):
        try:
            GrammarMatcher(vocab, make())
            results.append("ok")
        except GrammarError as e:
            results.append(str(e))
        except (GrammarLoadError, Exception) as e:
            results.append(f"{type(e).__name__}: {e}"[:200])
    return results[0], results[1]


def figures() -> dict[str, Any]:
    from rich.console import Console
    from rich.table import Table

    from models.bundled import bundled_model_path
    from models.matcher import Vocab

    vocab = Vocab(bundled_model_path())
    table = Table("server", "tools", "waypoint", "llama.cpp converter", "refused by waypoint")
    totals: Counter[str] = Counter()
    refusals: list[str] = []
    for path in sorted(DATA.glob("*.json")):
        record = json.loads(path.read_text())
        counts: Counter[str] = Counter()
        refused: list[str] = []
        for tool in record["tools"]:
            ours, theirs = outcome(tool["inputSchema"], vocab)
            counts.update(tools=1, ours=int(ours == "ok"), theirs=int(theirs == "ok"))
            if ours != "ok":
                refused.append(f"{tool['name']}: {ours}")
        table.add_row(
            record["server"], str(counts["tools"]), str(counts["ours"]), str(counts["theirs"]),
            "; ".join(refused) or "-",
        )  # fmt: skip
        totals += counts
        refusals += [f"{record['server']}.{line}" for line in refused]
    Console(stderr=True).print(table)
    return {
        "servers": len(list(DATA.glob("*.json"))),
        "tools": totals["tools"],
        "waypoint_compiled": totals["ours"],
        "llamacpp_converter_loaded": totals["theirs"],
        "refused": refusals,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--capture", nargs=2, metavar=("NAME", "SPEC"))
    parser.add_argument("--package", help="the package and version the server came from")
    args = parser.parse_args()
    if args.capture:
        print(capture(*args.capture, args.package))
        return
    print(json.dumps(figures()))


if __name__ == "__main__":
    main()
