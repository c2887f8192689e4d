"""A chat turn end to end: the seconds from a request to its answer, through the real agent.

Real multi-step requests go through `planner.agent.Agent` with the planners and tools that
exist: the atlas world (its own tool set, `tools.atlas.tools.atlas_tools`) and the real
tools on the bundled encyclopedia (`tools.registry.load_tools`; the tools that derive their
arguments with a model, e-mail, event and the calculator's fallback, share the planner's
model). The zero-shot and the fine-tuned planner's prompts take turns, on the bundled model
(the quality of the plans does not matter here, only what a turn costs), and made to take at
least --min-steps steps before an answer (the bundled model often answers at once).

Each request runs twice, side by side: as the agent runs by default (the fast decoder, and
prompt prefixes kept per caller: `models.prompt_cache`), and on a baseline (the plain
decoder, and the cache emptied before every call: no reuse). Per planning step: the prompt
tokens evaluated against the tokens the step added to the previous step's prompt, and the
decode speed; per request, the seconds to its answer (or to the end of the run). The last
line printed is JSON with `evaluated_per_new_token` (prompt tokens evaluated / new prompt
tokens, planning steps 2 on, pooled), `seconds_per_answer` and
`baseline_seconds_per_answer`, and their ratio: the mean seconds to the answer over the
requests that both answered with the same plans (the same work, so the ratio is speed
alone). The two can part: the plain decoder cuts a plan or a tool call at max_tokens where
the default closes it, and a different observation leads elsewhere. Each setup's mean over
all its requests is there too (`seconds_per_request`).

    python bench/agent_turn.py --threads 1
    python bench/agent_turn.py --atlas 4 --real 4 --max-steps 4
"""

import argparse
import json
import statistics
import sys
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import numpy as np
from rich.console import Console
from rich.progress import Progress
from rich.table import Table

from models.bundled import bundled_model_path
from models.chat_model import ChatModel
from models.llama_batch import BatchEvaluator, common_prefix
from models.llamacpp import LlamaCppChatModel
from planner.agent import Agent
from planner.base import Decision, Planner
from planner.model_planner import FineTunedPlanner, ModelPlanner, ZeroShotPlanner
from schemas.chat import Completion, Message, user
from schemas.trajectory import Exchange, Scratchpad
from tools.atlas.requests import atlas_requests
from tools.atlas.tools import atlas_tools
from tools.atlas.world import build_world
from tools.base import Tool
from tools.context import ToolContext
from tools.registry import load_tools

WORLD_SEED = 7002
REAL_TOOLS = [
    "search_wikipedia",
    "calculate",
    "ask_user",
    "send_email",
    "create_event",
    "final_answer",
]
REAL_REQUESTS = [
    "E-mail ana.lind@example.org the year the Eiffel Tower was completed.",
    "What is 17 times the number of moons of Mars?",
    "Put a lunch with Ida on 12 March 2027 at 12:30 in my calendar, and tell her by e-mail "
    "(ida.venn@example.org).",
    "Who painted the Mona Lisa, and how many years ago was that painter born?",
    "How many minutes are there in three and a half days?",
    "Find out when Marie Curie won her first Nobel Prize and put a reminder of it in my "
    "calendar for its next anniversary.",
]


@dataclass
class Call:
    caller: str
    prompt: list[int]
    completion: Completion


@dataclass
class Recording(ChatModel):
    """A caller's view of the shared model: every call recorded; with `fresh`, the KV cache is
    emptied first (the baseline reuses nothing)."""

    inner: LlamaCppChatModel
    caller: str
    calls: list[Call]
    fresh: bool = False

    def __post_init__(self) -> None:
        self.name = self.inner.name

    def complete(self, messages: Sequence[Message], **kwargs: Any) -> Completion:
        llm = self.inner.llm
        if self.fresh:
            BatchEvaluator(llm).truncate(0)
        prompt = llm.tokenize(
            self.inner.template.render(messages).encode(), add_bos=False, special=True
        )
        completion = self.inner.complete(messages, **kwargs)
        self.calls.append(Call(self.caller, prompt, completion))
        return completion


@dataclass
class Setup:
    """One way of running the agent: a model and what it reuses."""

    name: str
    model: LlamaCppChatModel
    fresh: bool
    calls: list[Call] = field(default_factory=list)
    seconds: list[float] = field(default_factory=list)
    answered: int = 0
    plans: list[tuple[tuple[str, str], ...] | None] = field(default_factory=list)  # if answered

    def view(self, caller: str) -> Recording:
        return Recording(self.model, caller, self.calls, self.fresh)


class Stepwise(Planner):
    """`planner`, made to take at least `min_steps` steps: before that, the tools that end a
    run are withheld (the bundled model often answers at once, which leaves no later step to
    measure)."""

    def __init__(self, planner: ModelPlanner, tools: list[Tool], min_steps: int) -> None:
        self.inner, self.min_steps = planner, min_steps
        self.name, self.model_name, self.tool_names = (
            "stepwise " + planner.name,
            planner.model_name,
            planner.tool_names,
        )
        self.going_on = [t.name for t in tools if not t.ends_run]

    def plan(
        self,
        request: str,
        scratchpad: Scratchpad,
        history: Sequence[Exchange] = (),
        *,
        only: Sequence[str] | None = None,
    ) -> Decision:
        if only is None and len(scratchpad.steps) + 1 < self.min_steps:
            only = self.going_on
        return self.inner.plan(request, scratchpad, history, only=only)


@dataclass(frozen=True)
class Job:
    """One request: its text, the tools, and which planner plans it."""

    text: str
    tools: str  # "atlas" or "real"
    planner: type[ModelPlanner]


def tool_sets(setup: Setup, home: Path) -> dict[str, list[Tool]]:
    world = build_world(WORLD_SEED)
    context = ToolContext(
        model=setup.view("tool"),
        home=home / setup.name,
        index_dir=None,
        ask=lambda question: "I would rather not say; do without it.",
    )
    return {"atlas": atlas_tools(world), "real": load_tools(context, REAL_TOOLS)}


def warm_up(model: LlamaCppChatModel, tools: dict[str, list[Tool]]) -> None:
    """Load the weights, the decoder's tables and the embedding model, and build the search
    indexes, before the clock runs."""
    model.complete([user("Yes or no?")], grammar='root ::= "yes" | "no"')
    for tool_set in tools.values():
        search = next(t for t in tool_set if t.name == "search_wikipedia")
        search.run("warm-up", "the tallest tower", Scratchpad())


def run_job(setup: Setup, tools: list[Tool], job: Job, min_steps: int, max_steps: int) -> None:
    planner = Stepwise(job.planner(setup.view("planner"), tools), tools, min_steps)
    trajectory = Agent(planner, tools, max_steps=max_steps).run(job.text)
    setup.seconds.append(trajectory.seconds)
    answered = trajectory.status == "answered"
    setup.answered += answered
    plans = tuple((step.plan.tool, step.plan.task) for step in trajectory.steps)
    setup.plans.append(plans if answered else None)
    setup.calls.append(Call("end", [], Completion(text="")))  # a request's calls end here


def planning_steps(calls: list[Call]) -> list[dict[str, Any]]:
    """Per planning step of each request: its step number, prompt tokens evaluated, the
    tokens it added to the previous step's prompt, and its decode speed."""
    steps: list[dict[str, Any]] = []
    previous: np.ndarray | None = None
    number = 0
    for call in calls:
        if call.caller == "end":
            previous, number = None, 0
            continue
        if call.caller != "planner":
            continue
        number += 1
        c = call.completion
        new = len(call.prompt) - (
            common_prefix(previous, call.prompt) if previous is not None else 0
        )
        steps.append(
            {
                "step": number,
                "prompt_tokens": c.prompt_tokens,
                "evaluated": c.prompt_tokens - c.cached_tokens,
                "new": new,
                "decode_tok_s": round(c.timings.tokens_per_second(c.completion_tokens), 1),
            }
        )
        previous = np.asarray(call.prompt)
    return steps


def summary(setup: Setup) -> dict[str, Any]:
    steps = planning_steps(setup.calls)
    later = [s for s in steps if s["step"] >= 2]
    evaluated, new = sum(s["evaluated"] for s in later), sum(s["new"] for s in later)
    tools = [c.completion for c in setup.calls if c.caller == "tool"]
    rates = [s["decode_tok_s"] for s in steps if s["decode_tok_s"]]
    return {
        "requests": len(setup.seconds),
        "answered": setup.answered,
        "seconds_per_request": round(statistics.mean(setup.seconds), 2),
        "planning_steps": len(steps),
        "tool_model_calls": len(tools),
        "evaluated_per_new_token": round(evaluated / new, 3) if new else None,
        "step1_evaluated_per_prompt_token": _share(steps, 1),
        "decode_tok_s": round(statistics.median(rates), 1) if rates else None,
        "tool_calls_evaluated_per_prompt_token": round(
            sum(c.prompt_tokens - c.cached_tokens for c in tools)
            / max(sum(c.prompt_tokens for c in tools), 1),
            3,
        ),
    }


def _share(steps: list[dict[str, Any]], number: int) -> float | None:
    chosen = [s for s in steps if s["step"] == number]
    total = sum(s["prompt_tokens"] for s in chosen)
    return round(sum(s["evaluated"] for s in chosen) / total, 3) if total else None


def table(results: dict[str, dict[str, Any]]) -> Table:
    out = Table(title="agent turn: the default against the plain, no-reuse baseline")
    out.add_column("figure")
    for name in results:
        out.add_column(name, justify="right")
    for key in next(iter(results.values())):
        out.add_row(key, *(str(r[key]) for r in results.values()))
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--threads", type=int, default=1, help="llama.cpp threads")
    parser.add_argument("--atlas", type=int, default=6, help="atlas requests")
    parser.add_argument("--real", type=int, default=len(REAL_REQUESTS), help="real-tool requests")
    parser.add_argument("--min-steps", type=int, default=3, help="steps before an answer may come")
    parser.add_argument("--max-steps", type=int, default=5)
    args = parser.parse_args()
    console = Console(stderr=True)
    path = bundled_model_path()
    setups = [
        Setup("default", LlamaCppChatModel(path, n_threads=args.threads), fresh=False),
        Setup(
            "baseline",
            LlamaCppChatModel(path, n_threads=args.threads, decoder="plain", keep_prefixes=0),
            fresh=True,
        ),
    ]
    planners = [FineTunedPlanner, ZeroShotPlanner]
    atlas = atlas_requests(build_world(WORLD_SEED), args.atlas, "all")
    jobs = [Job(r.text, "atlas", planners[i % 2]) for i, r in enumerate(atlas)]
    real = REAL_REQUESTS[: args.real]
    jobs += [Job(text, "real", planners[i % 2]) for i, text in enumerate(real)]
    with tempfile.TemporaryDirectory() as home:
        tools = {s.name: tool_sets(s, Path(home)) for s in setups}
        for setup in setups:
            warm_up(setup.model, tools[setup.name])
        with Progress(console=console, transient=True) as progress:
            task = progress.add_task("requests", total=len(jobs))
            for job in jobs:
                for setup in setups:  # side by side, request by request
                    run_job(
                        setup, tools[setup.name][job.tools], job, args.min_steps, args.max_steps
                    )
                progress.advance(task)
    results = {s.name: summary(s) for s in setups}
    console.print(table(results))
    default, baseline = results["default"], results["baseline"]
    same = [i for i, plans in enumerate(setups[0].plans) if plans and plans == setups[1].plans[i]]
    per_answer = [round(statistics.mean(s.seconds[i] for i in same), 2) if same else None
                  for s in setups]  # fmt: skip
    cache = setups[0].model.prompt_cache.stats
    print(
        json.dumps(
            {
                "bench": "agent_turn",
                "threads": args.threads,
                "requests": len(jobs),
                "evaluated_per_new_token": default["evaluated_per_new_token"],
                "baseline_evaluated_per_new_token": baseline["evaluated_per_new_token"],
                "answered_alike": len(same),
                "seconds_per_answer": per_answer[0],
                "baseline_seconds_per_answer": per_answer[1],
                "speedup": round(per_answer[1] / per_answer[0], 3) if same else None,
                "prompt_cache": {"saves": cache.saved, "restores": cache.restored},
                "default": default,
                "baseline": baseline,
            }
        )
    )


if __name__ == "__main__":
    main()
