"""Self-aware planning: how often each mode is used, and the prompt tokens that consulting
only when needed saves against always showing the rules.

The self-aware planner (`planner.self_aware`) runs the agent over atlas requests of a world
of their own, on the atlas tools. Every step records its mode and the rules retrieval gave
for its state, consulted or not. The prompts of the same runs are then rendered twice with
the model's chat template and counted with its tokenizer: as the self-aware planner sent
them (a consult costs a second prompt, the rules shown), and as a planner that always
shows the rules would (every step a consult, one prompt each). The last line printed is
JSON; `prompt_tokens.ratio` is self-aware over always-shown (below 1: consulting only when
needed reads fewer tokens). A planner not trained on self-aware data chooses its modes at
random or not at all, so the mode shares mean something only for a trained one (`--model`).

    python bench/self_aware.py
    python bench/self_aware.py --model runs/self-aware/planner.gguf --requests 40
"""

import argparse
import json
import sys
import time
from collections import Counter
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from models.llamacpp import LlamaCppChatModel
from models.registry import load_chat_model
from planner.agent import Agent
from planner.knowledge import KnowledgeBase
from planner.prompts import consult_turns, self_aware_messages
from planner.self_aware import SelfAwarePlanner
from schemas.awareness import MODES, Awareness
from schemas.chat import Message
from schemas.trajectory import Scratchpad, Step, Trajectory
from tools.atlas.requests import atlas_requests
from tools.atlas.tools import atlas_tools
from tools.atlas.world import build_world

WORLD_SEED = 7002  # no training request shares its entities


def prompts_sent(trajectory: Trajectory) -> list[list[Message]]:
    """The prompts the self-aware planner sent for each step: one, and a second after a
    consult (the first with the consult and the rules shown)."""
    sent = []
    for i, step in enumerate(trajectory.steps):
        first = self_aware_messages(
            trajectory.request, Scratchpad(steps=trajectory.steps[:i]), trajectory.history
        )
        sent.append(first)
        if step.awareness is not None and step.awareness.mode == "consult":
            sent.append([*first, *consult_turns(step.awareness.retrieved)])
    return sent


def prompts_always_shown(trajectory: Trajectory) -> list[list[Message]]:
    """The prompts of a planner that is shown the rules of every state before its plan:
    each earlier step as a consult, and the rules of this one at the end."""
    consulted: list[Step] = []
    sent = []
    for step in trajectory.steps:
        rules = step.awareness.retrieved if step.awareness else []
        pad = Scratchpad(steps=consulted)
        sent.append(
            [
                *self_aware_messages(trajectory.request, pad, trajectory.history),
                *consult_turns(rules),
            ]
        )
        awareness = Awareness(mode="consult", retrieved=rules)
        consulted.append(step.model_copy(update={"awareness": awareness}))
    return sent


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", default="smollm2-135m", help="a registry name or a GGUF")
    parser.add_argument("--threads", type=int, default=1, help="llama.cpp threads")
    parser.add_argument("--requests", type=int, default=6, help="atlas requests")
    parser.add_argument("--max-steps", type=int, default=4)
    args = parser.parse_args()
    model = load_chat_model(args.model, n_threads=args.threads)
    if not isinstance(model, LlamaCppChatModel):
        parser.error(f"{args.model} is not an in-process GGUF model")
    model.load()

    def tokens(messages: list[Message]) -> int:
        text = model.template.render(messages).encode()
        return len(model.llm.tokenize(text, add_bos=False, special=True))

    world = build_world(WORLD_SEED)
    tools = atlas_tools(world)
    planner = SelfAwarePlanner(model, tools, knowledge=KnowledgeBase.load())
    agent = Agent(planner, tools, max_steps=args.max_steps)
    started = time.perf_counter()
    trajectories = [
        agent.run(r.text, request_id=r.id, history=r.history)
        for r in atlas_requests(world, args.requests, "all")
    ]
    seconds = time.perf_counter() - started
    modes = Counter(s.awareness.mode for t in trajectories for s in t.steps if s.awareness)
    steps = sum(modes.values())
    sent = sum(tokens(m) for t in trajectories for m in prompts_sent(t))
    always = sum(tokens(m) for t in trajectories for m in prompts_always_shown(t))
    measured = sum(t.prompt_tokens for t in trajectories)
    print(
        json.dumps(
            {
                "model": model.name,
                "requests": len(trajectories),
                "answered": sum(t.status == "answered" for t in trajectories),
                "steps": steps,
                "modes": {m: modes[m] for m in MODES},
                "mode_share": {m: round(modes[m] / max(steps, 1), 3) for m in MODES},
                "prompt_tokens": {
                    "self_aware": sent,
                    "self_aware_reported": measured,  # the completions' own counts
                    "always_shown": always,
                    "saved": always - sent,
                    "ratio": round(sent / max(always, 1), 3),
                },
                "seconds": round(seconds, 1),
            }
        )
    )


if __name__ == "__main__":
    main()
