"""Every prompt the planners send, in one place.

`fine_tuned_messages` is also the prompt the SFT dataset is built from: a fine-tuned planner
sees at inference exactly what it was trained on, so it must stay a pure function of its
inputs (no dates, no randomness, no tool list) and change only with a new dataset. It is a
conversation that grows by one plan and one result per step, so the prompt of step n + 1
extends the prompt of step n token for token: training learns every plan of a trajectory
from one sequence, and at inference the KV cache holds everything but the newest result.
"""

from collections.abc import Callable, Sequence

from schemas.awareness import aware_text
from schemas.chat import Message, assistant, system, user
from schemas.examples import WorkedExample
from schemas.plan import PlanRecord
from schemas.trajectory import Exchange, Scratchpad, Step
from tools.base import Tool
from tools.function_calling import describe_fields

MAX_HISTORY = 4  # earlier exchanges shown; older ones rarely matter and cost tokens
HISTORY_ANSWER_CHARS = 300

ZERO_SHOT_SYSTEM = """\
You are the planner of an agent that fulfils a user's request with tools. At each step you
decide what to do next: write one task in plain words and choose the one tool that carries
it out. The tool does the work; its result is added to the steps taken. Put every detail the
tool needs into the task (names, numbers, dates), because the tool sees only the task, the
request and earlier results.

Tools:
{tools}

Reply with one JSON object with these fields, in this order:
{fields}
When the steps taken answer the request, choose the tool that gives the final answer; its
task is the answer to the user itself, written out in full."""

FINE_TUNED_SYSTEM = """\
You are a planner. For the user's request, write the next task and its tool as JSON with
context, thoughts, task and tool; each result follows your plan."""

SELF_AWARE_SYSTEM = """\
You are a planner. For the user's request, write the next task and its tool as JSON: first
the mode (act; reflect, with a check before the plan; or consult, to read rules first), then
context, thoughts, task and tool; each result follows your plan."""

FINE_TUNED_REQUEST = "{example}{history}Request: {request}"
EXAMPLE = """\
A request like it, solved:
Request: {request}
{steps}

"""
RESULT = "Result: {observation}"
RULES = "Rules:\n{rules}"

USER = """\
{history}Request: {request}

Steps taken:
{steps}"""

HISTORY = """\
Earlier in this conversation:
{exchanges}

"""


def render_history(history: Sequence[Exchange]) -> str:
    if not history:
        return ""
    exchanges = "\n".join(
        f"- user: {e.request}\n  answer: {(e.answer or '(none)')[:HISTORY_ANSWER_CHARS]}"
        for e in history[-MAX_HISTORY:]
    )
    return HISTORY.format(exchanges=exchanges)


def planner_user_message(
    request: str, scratchpad: Scratchpad, history: Sequence[Exchange] = ()
) -> Message:
    return user(
        USER.format(history=render_history(history), request=request, steps=scratchpad.render())
    )


def zero_shot_messages(
    request: str,
    scratchpad: Scratchpad,
    history: Sequence[Exchange],
    tools: Sequence[Tool],
) -> list[Message]:
    """The zero-shot planner's prompt: the tools and what they do are spelled out."""
    tool_list = "\n".join(f"- {t.name}: {t.description}" for t in tools)
    instructions = ZERO_SHOT_SYSTEM.format(tools=tool_list, fields=describe_fields(PlanRecord))
    return [system(instructions), planner_user_message(request, scratchpad, history)]


def fine_tuned_messages(
    request: str,
    scratchpad: Scratchpad,
    history: Sequence[Exchange] = (),
    example: WorkedExample | None = None,
) -> list[Message]:
    """The fine-tuned planner's prompt, and the prompt of every SFT example: short, with no
    tool documentation (the model learned the tools), deterministic. A worked example, where
    the planner was trained with them, comes before the request (`planner.examples`). Each
    step taken is its plan, as the planner wrote it, and then its result."""
    return _conversation(
        FINE_TUNED_SYSTEM, request, scratchpad, history, lambda s: [assistant(plan_text(s.plan))],
        example,
    )  # fmt: skip


def render_example(example: WorkedExample | None) -> str:
    if example is None:
        return ""
    steps = "\n".join(f"{n}. {s.tool}: {s.task}" for n, s in enumerate(example.steps, 1))
    return EXAMPLE.format(request=example.request, steps=steps)


def self_aware_messages(
    request: str, scratchpad: Scratchpad, history: Sequence[Exchange] = ()
) -> list[Message]:
    """The self-aware planner's prompt (`schemas.awareness`), pure like the fine-tuned one:
    each step is its plan with its mode, a consulted step the consult, the rules shown and
    then the plan, and after it its result."""
    return _conversation(SELF_AWARE_SYSTEM, request, scratchpad, history, aware_turns)


def aware_turns(step: Step) -> list[Message]:
    """What a self-aware planner wrote for `step` (a step without a mode was an act), and
    the rules it was shown when it consulted."""
    awareness = step.awareness
    if awareness is None or awareness.mode == "act":
        return [assistant(aware_text("act", step.plan))]
    if awareness.mode == "reflect":
        return [assistant(aware_text("reflect", step.plan, awareness.check))]
    return [*consult_turns(awareness.retrieved), assistant(aware_text("act", step.plan))]


def consult_turns(rules: Sequence[str]) -> list[Message]:
    """A consult and the rules it was shown, before the plan that follows them."""
    shown = RULES.format(rules="\n".join(f"- {rule}" for rule in rules))
    return [assistant(aware_text("consult")), user(shown)]


def _conversation(
    instructions: str,
    request: str,
    scratchpad: Scratchpad,
    history: Sequence[Exchange],
    turns: Callable[[Step], list[Message]],
    example: WorkedExample | None = None,
) -> list[Message]:
    first = FINE_TUNED_REQUEST.format(
        history=render_history(history), example=render_example(example), request=request
    )
    messages = [system(instructions), user(first)]
    for step in scratchpad.steps:
        messages += [*turns(step), user(RESULT.format(observation=step.observation))]
    return messages


def plan_text(plan: PlanRecord) -> str:
    """A plan as the plan grammar makes the model write it: compact JSON, fields in order."""
    return PlanRecord.model_validate(plan.model_dump()).model_dump_json()
