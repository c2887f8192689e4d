"""KV-cache prefix reuse in LlamaCppChatModel: a planner's step-2 prompt, cold against warm.

Cold: the step-2 prompt right after an unrelated prompt (nothing to reuse). Warm: the same
prompt right after step 1, whose system prompt and request it shares, as in an agent run.
Prompt time is the time to the first token. The last line printed is JSON; its `ratio` is
warm / cold prompt time (lower is better).

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
    cold, warm = [], []
    for _ in range(repeats):
        prompt_only(model, unrelated)
        cold.append(prompt_only(model, step2))
        prompt_only(model, step1)
        warm.append(prompt_only(model, step2))
    cold_ms = statistics.median(c.timings.prompt_ms for c in cold)
    warm_ms = statistics.median(c.timings.prompt_ms for c in warm)
    return {
        "bench": "prefix_reuse",
        "model": model.name,
        "repeats": repeats,
        "step2_prompt_tokens": warm[0].prompt_tokens,
        "cold_cached_tokens": cold[0].cached_tokens,
        "warm_cached_tokens": warm[0].cached_tokens,
        "cold_prompt_ms": round(cold_ms, 1),
        "warm_prompt_ms": round(warm_ms, 1),
        "ratio": round(warm_ms / cold_ms, 3),
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
    print(json.dumps(measure(model, args.repeats)))


if __name__ == "__main__":
    main()
