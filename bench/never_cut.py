"""Never cut: sampled plans at temperature 1.0 with a deliberately small max_tokens, through
LlamaCppChatModel and its default (fast) decoder. Every one must parse and validate; those
the decoder closed early to fit are marked finish_reason "length".

Planner prompts of the atlas world (bench/planner_prompts.py), each sampled with several
seeds in a row. The last line printed is JSON: `valid` of `plans`, how many were shortened,
and the tokens they used.

    python bench/never_cut.py
    python bench/never_cut.py --plans 1000 --max-tokens 32 --threads 1
"""

import argparse
import json
import statistics
import sys
from collections import Counter
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from planner_prompts import planner_prompts
from rich.console import Console
from rich.progress import Progress

from models.chat_model import CompletionError
from models.llamacpp import LlamaCppChatModel
from models.registry import load_chat_model


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", default="smollm2-135m", help="a registry name or a GGUF")
    parser.add_argument("--threads", type=int, default=1, help="llama.cpp threads")
    parser.add_argument("--plans", type=int, default=200)
    parser.add_argument("--max-tokens", type=int, default=32, help="the budget of each plan")
    parser.add_argument("--seeds", type=int, default=50, help="samples per prompt, in a row")
    args = parser.parse_args()
    model = load_chat_model(args.model, n_threads=args.threads)
    if not isinstance(model, LlamaCppChatModel):
        parser.error(f"{args.model} is not an in-process GGUF model")
    prompts = planner_prompts(model.load(), -(-args.plans // args.seeds))
    finish, used, failures = Counter(), [], []
    with Progress(console=Console(stderr=True), transient=True) as progress:
        task = progress.add_task("plans", total=args.plans)
        for n in range(args.plans):
            prompt = prompts[n // args.seeds]
            try:
                c = model.complete(
                    prompt.messages,
                    schema=prompt.schema,
                    temperature=1.0,
                    seed=n,
                    max_tokens=args.max_tokens,
                )
                finish[c.finish_reason] += 1
                used.append(c.completion_tokens)
            except CompletionError as e:
                failures.append(str(e))
            progress.advance(task)
    result = {
        "bench": "never_cut",
        "model": model.name,
        "plans": args.plans,
        "max_tokens": args.max_tokens,
        "valid": len(used),
        "shortened": finish["length"],
        "finished": finish["stop"],
        "median_tokens": statistics.median(used) if used else None,
        "failures": failures[:5],
    }
    print(json.dumps(result))


if __name__ == "__main__":
    main()
