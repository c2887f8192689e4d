"""KV-cache prefix reuse in LlamaCppChatModel: a planner's step-2 prompt, cold against warm,
with a tool's call in between as in an agent run.

Cold: the step-2 prompt right after an unrelated prompt (nothing to reuse). Warm: the same
prompt after step 1 and then a tool's own call on the same model (an e-mail tool deriving
its arguments), with the planner's prefix kept aside (`models.prompt_cache`). Beside it,
the same with no prefixes kept (the tool's call overwrites the planner's), and what keeping
costs: milliseconds to save and restore a sequence, and host memory per token. Prompt time is
the time to the first token. The last line printed is JSON; its `ratio` is warm / cold
prompt time (lower is better), `ratio_without_kept_prefixes` the same with none kept.

    python bench/prefix_reuse.py
    python bench/prefix_reuse.py --model mistral-7b-instruct-q4 --threads 8
"""

import argparse
import json
import statistics
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from models.llamacpp import LlamaCppChatModel
from models.registry import load_chat_model
from schemas.chat import Completion, Message, system, user
from tools.registry import tool_class

# The agent's own tools, with the one-line descriptions the planner sees.
NAMES = ["search_wikipedia", "calculate", "ask_user", "send_email", "create_event", "final_answer"]
TOOLS = {name: tool_class(name).description for name in NAMES}
RULES = (
    "You are the planner of an agent. At each step, write what is known so far, what is "
    "still needed, the next task in plain words, and the one tool that carries it out. "
    "Never repeat a task that already has an observation. Stop with final_answer as soon "
    "as the request is answered."
)
REQUEST = "Request: e-mail the mayor of Vellmar the population of Vellmar plus that of Oskfjord."
TOOL = (
    "You fill in the arguments of an e-mail from a task: the recipient's address, a subject "
    "and a body. Use only what the task says."
)
STEP_1 = (
    "1. task: find the population of Vellmar (search_wikipedia)\n"
    "   observation: Vellmar, a town on the Rhen, had 18,412 inhabitants in 2021; its "
    "mayor is Ana Lind (ana.lind@vellmar.example)."
)


def planner_prompts() -> tuple[list[Message], list[Message]]:
    tools = "\n".join(f"- {name}: {text}" for name, text in TOOLS.items())
    head = system(f"{RULES}\n\nTools:\n{tools}")
    return [head, user(REQUEST)], [head, user(f"{REQUEST}\n\nSteps so far:\n{STEP_1}")]


def prompt_only(model: LlamaCppChatModel, messages: list[Message]) -> Completion:
    return model.complete(messages, max_tokens=1)


def measure(model: LlamaCppChatModel, repeats: int) -> dict:
    step1, step2 = planner_prompts()
    unrelated = [user("Write a haiku about rain.")]
    tool = [system(TOOL), user("Task: e-mail ana.lind@vellmar.example that 18,412 people live.")]
    cache = model.prompt_cache
    runs: dict[str, list[Completion]] = {"cold": [], "kept": [], "not_kept": []}
    for _ in range(repeats):
        for name, keep in [("cold", 0), ("kept", 4), ("not_kept", 0)]:
            cache.clear()  # a prompt seen in an earlier repeat is no reuse to measure
            cache.keep = keep
            if name == "cold":
                prompt_only(model, unrelated)
            else:
                prompt_only(model, step1)
                prompt_only(model, tool)
            runs[name].append(prompt_only(model, step2))
    ms = {name: statistics.median(c.timings.prompt_ms for c in cs) for name, cs in runs.items()}
    return {
        "step2_prompt_tokens": runs["kept"][0].prompt_tokens,
        "cold_cached_tokens": runs["cold"][0].cached_tokens,
        "warm_cached_tokens": runs["kept"][0].cached_tokens,
        "warm_cached_tokens_without_kept_prefixes": runs["not_kept"][0].cached_tokens,
        "cold_prompt_ms": round(ms["cold"], 1),
        "warm_prompt_ms": round(ms["kept"], 1),
        "ratio": round(ms["kept"] / ms["cold"], 3),
        "ratio_without_kept_prefixes": round(ms["not_kept"] / ms["cold"], 3),
    }


def keeping_costs(model: LlamaCppChatModel) -> dict:
    stats = model.prompt_cache.stats
    held = model.prompt_cache.held_tokens()
    return {
        "saves": stats.saved,
        "restores": stats.restored,
        "save_ms": round(stats.save_ms / max(stats.saved, 1), 2),
        "restore_ms": round(stats.restore_ms / max(stats.restored, 1), 2),
        "kept_bytes_per_token": round(stats.saved_bytes / held) if held else None,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", default="smollm2-135m", help="a registry name or a GGUF")
    parser.add_argument("--threads", type=int, default=None, help="llama.cpp threads")
    parser.add_argument("--repeats", type=int, default=7)
    args = parser.parse_args()
    model = load_chat_model(args.model, n_threads=args.threads)
    if not isinstance(model, LlamaCppChatModel):
        parser.error(f"{args.model} is not an in-process GGUF model")
    prompt_only(model.load(), [user("warm-up")])
    result = {"bench": "prefix_reuse", "model": model.name, "repeats": args.repeats}
    result |= measure(model, args.repeats)
    print(json.dumps(result | keeping_costs(model)))


if __name__ == "__main__":
    main()
