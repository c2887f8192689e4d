"""Two LoRA adapters on one base in one llama.cpp process (`models.adapters`), against two
models each loaded with its own adapter: memory, and the cost of switching per call.

The calls alternate as in an agent run: a planner prompt under the planner adapter, a tool
prompt under the tool-caller adapter, and so on, each prompt growing a little from one
round to the next (as a planner's does). Side by side in this process: `switched` (one
model, adapters switched per call, each adapter's prompt prefixes cached apart) and `two`
(two models, no switching, each with its own KV cache). Memory is measured in a fresh
process per layout (VmRSS after a call under each adapter), so one cannot inflate the other.

    python bench/adapters.py                         # random adapters of the bundled base
    python bench/adapters.py --planner P.gguf --tool-caller T.gguf --rounds 8

The last line is JSON.
"""

import argparse
import json
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

PLANNER_SYSTEM = (
    "You plan the next step of an agent. Tools: search_wikipedia, calculate, send_email."
)
TOOL_SYSTEM = "You fill in the arguments of the tool send_email. Reply with one JSON object."


def random_adapters(folder: Path) -> dict[str, Path]:
    """Two GGUF LoRA adapters of the bundled base with random weights (rank 16, all linear
    layers: the size of a trained one)."""
    import torch
    from peft import LoraConfig, get_peft_model
    from transformers import AutoModelForCausalLM

    from finetune.base_model import resolve_base
    from models.bundled import BUNDLED_NAME
    from quantize.lora import export_lora

    base = Path(resolve_base(BUNDLED_NAME))
    paths = {}
    for seed, name in enumerate(("planner", "tool_caller")):
        torch.manual_seed(seed)
        model = AutoModelForCausalLM.from_pretrained(base, dtype=torch.float32)
        lora = LoraConfig(r=16, lora_alpha=32, target_modules="all-linear", init_lora_weights=False)
        model = get_peft_model(model, lora)
        model.save_pretrained(folder / name)
        paths[name] = export_lora(folder / name, folder / f"{name}.gguf").path
    return paths


def prompts(round_: int) -> tuple[list, list]:
    from schemas.chat import system, user

    steps = " ".join(f"Step {i}: looked up fact {i}." for i in range(round_ + 1))
    planner = [
        system(PLANNER_SYSTEM),
        user(f"Request: e-mail Ana the height of Kelo Tower. {steps}"),
    ]
    tool = [
        system(TOOL_SYSTEM),
        user(f"Task: e-mail ana@example.com that the tower is {round_}0 m"),
    ]
    return planner, tool


def timed_rounds(planner_model, tool_model, rounds: int) -> list[float]:
    """Seconds per round (a planner call, then a tool call), 16 tokens each."""
    seconds = []
    for r in range(rounds):
        planner, tool = prompts(r)
        start = time.perf_counter()
        planner_model.complete(planner, max_tokens=16)
        tool_model.complete(tool, max_tokens=16)
        seconds.append(time.perf_counter() - start)
    return seconds


def load(layout: str, adapters: dict[str, Path], threads: int):
    """(planner model, tool model) for a layout."""
    from models.adapters import AdaptedChatModel
    from models.bundled import bundled_model_path

    path = bundled_model_path()
    if layout == "switched":
        shared = AdaptedChatModel(path, n_ctx=2048, n_threads=threads, adapters=adapters)
        return shared.with_adapter("planner"), shared.with_adapter("tool_caller"), shared
    models = [
        AdaptedChatModel(path, n_ctx=2048, n_threads=threads, lora=adapters[name])
        for name in ("planner", "tool_caller")
    ]
    return models[0], models[1], None


def rss_mb(layout: str, adapters: dict[str, Path], threads: int) -> float:
    """VmRSS of a fresh process holding `layout` after one round (this script, --rss)."""
    command = [
        sys.executable, __file__, "--rss", layout, "--threads", str(threads),
        "--planner", str(adapters["planner"]), "--tool-caller", str(adapters["tool_caller"]),
    ]  # fmt: skip
    out = subprocess.run(command, capture_output=True, text=True)
    if out.returncode:
        raise RuntimeError(out.stderr[-2000:])
    return float(out.stdout.split()[-1])


def own_rss_mb() -> float:
    status = Path("/proc/self/status").read_text().splitlines()
    return round(
        int(next(line for line in status if line.startswith("VmRSS")).split()[1]) / 1024, 1
    )


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--planner", type=Path, help="planner GGUF LoRA (default: random)")
    parser.add_argument("--tool-caller", type=Path, help="tool-caller GGUF LoRA")
    parser.add_argument("--rounds", type=int, default=6)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--rss", choices=("switched", "two"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.rss:  # the child of rss_mb: load, run one round, print the memory held
        adapters = {"planner": args.planner, "tool_caller": args.tool_caller}
        planner, tool, _ = load(args.rss, adapters, args.threads)
        timed_rounds(planner, tool, 1)
        print(own_rss_mb())
        return

    from rich.console import Console

    with tempfile.TemporaryDirectory() as tmp:
        if args.planner and args.tool_caller:
            adapters = {"planner": args.planner, "tool_caller": args.tool_caller}
        else:
            adapters = random_adapters(Path(tmp))
        memory = {layout: rss_mb(layout, adapters, args.threads) for layout in ("switched", "two")}
        per_round = {}
        for layout in ("switched", "two"):
            planner, tool, shared = load(layout, adapters, args.threads)
            timed_rounds(planner, tool, 1)  # loads the weights and the adapters
            per_round[layout] = statistics.median(timed_rounds(planner, tool, args.rounds))
            if shared is not None:
                switches, switch_ms = shared.adapters.switches, shared.adapters.switch_ms
        # sized while they exist (random adapters live in the temporary folder)
        sizes = {k: round(Path(v).stat().st_size / 2**20, 1) for k, v in adapters.items()}
    result = {
        "bench": "adapters",
        "rounds": args.rounds,
        "rss_mb": memory,
        "memory_ratio": round(memory["switched"] / memory["two"], 3),
        "round_ms": {k: round(v * 1000, 1) for k, v in per_round.items()},
        "time_ratio": round(per_round["switched"] / per_round["two"], 3),
        "switch_ms": round(switch_ms / max(1, switches), 3),
        "switches": switches,
        "adapter_mb": sizes,
    }
    Console(stderr=True).print(
        f"one process, two adapters: {memory['switched']} MB against {memory['two']} MB for "
        f"two models; a round {result['round_ms']['switched']} ms against "
        f"{result['round_ms']['two']} ms; a switch {result['switch_ms']} ms",
        highlight=False,
    )
    print(json.dumps(result))


if __name__ == "__main__":
    main()
