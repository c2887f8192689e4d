"""Simulated trial and error (STE) for the tool caller: an explorer imagines tasks for a tool,
calls the real tool, learns from what the call did, and the calls that did what their task
asked become the tool caller's training data.

An episode, for one tool:
1. imagination: a scenario comes from an atlas world (an intent and a planner's wording of
   it, `tools.calls.cases`); the explorer rewrites the task in its own words, shown the
   tasks earlier episodes wrote (long-term memory) so that it goes somewhere new, and the
   scenario's wording family that has been explored least is drawn next. A rewording that
   lost what the task must keep (a name, an address, a number) is set aside for the
   scenario's own wording.
2. trial and error: the explorer writes the call under the tool's argument grammar, the
   real tool executes it and the world judges the effect. A failed trial goes into the
   episode's short-term memory (the call and what the tool answered, its result or its
   error, never the right call), which the explorer sees at its next trial, sampled at a
   temperature; `trials` per episode at most.
3. exploitation: a successful (task, call) is a training example, and so is each rewording
   of its task by the explorer that keeps what the task must keep (`paraphrases`).

The explorer is any ChatModel (the bundled model offline; a teacher behind an
OpenAI-compatible endpoint), or `expert`, the atlas world's own caller that writes each
scenario's call (as the scripted expert plans in the planner's simulation): its trials
always succeed, so what it yields measures the rest of the loop.
"""

import json
import random
from collections import Counter
from collections.abc import Sequence
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from models.chat_model import ChatModel, ModelError
from models.registry import DEFAULT_MODEL
from schemas.chat import Message, assistant, system, user
from schemas.dataset import SFTExample
from schemas.errors import WaypointError
from schemas.progress import counted_progress
from schemas.records import write_records
from tools.atlas.world import build_world
from tools.calls.cases import TOOLS, Case, ToolName, make_cases
from tools.calls.trial import call_json, parse_call, toolbox
from tools.function_calling import ArgumentTool

EXPERT = "expert"
EPISODES, CALLS, SUMMARY = "episodes.jsonl", "calls.jsonl", "summary.json"
TASK_CHARS = 240

IMAGINE_SYSTEM = """\
You write the task that an agent's planner hands the tool `{tool}`: {description}
Write one task, in your own words, that asks for exactly this: {task}
Keep every name, address, number and date. Do not copy the wording of these earlier tasks:
{memory}"""
PARAPHRASE_SYSTEM = """\
Say the following task in other words. Keep every name, address, number and date."""
MEMORY_NOTE = """

Earlier calls for this task did not do what it asks:
{attempts}
Write a different call."""


class ExploreConfig(BaseModel):
    model_config = ConfigDict(extra="forbid")

    out: Path = Field(description="folder for episodes.jsonl, calls.jsonl and summary.json")
    tools: list[ToolName] = Field(default_factory=lambda: list(TOOLS))
    worlds: list[int] = Field(
        default_factory=lambda: [11, 12, 13], description="atlas worlds the scenarios come from"
    )
    episodes: int = Field(40, ge=1, description="per tool")
    trials: int = Field(3, ge=1, description="calls per episode at most (short-term memory)")
    temperature: float = Field(0.7, ge=0.0, description="of trials after the first")
    imagine: bool = Field(True, description="the explorer rewords each scenario's task")
    paraphrases: int = Field(1, ge=0, description="rewordings of each solved task")
    memory: int = Field(6, ge=0, description="earlier tasks shown when imagining")
    explorer: str = Field(DEFAULT_MODEL, description=f"a model name or path, or {EXPERT!r}")
    seed: int = 0


class Trial(BaseModel):
    arguments: str | None
    feedback: str
    ok: bool


class Episode(BaseModel):
    id: str
    tool: str
    case: str = Field(description="the scenario (tools.calls.cases.Case.id)")
    source: Literal["imagined", "scenario"]
    task: str
    trials: list[Trial]

    @property
    def solved(self) -> bool:
        return any(t.ok for t in self.trials)


class ExploredCall(BaseModel):
    """A call that did what its task asked, as the tool caller's training conversation."""

    episode: str
    tool: str
    case: str
    source: Literal["imagined", "scenario", "paraphrase"]
    task: str
    messages: list[Message]  # the tool's argument prompt, then the call (assistant)

    def example(self) -> SFTExample:
        return SFTExample(request_id=self.episode, messages=self.messages)


class ToolSummary(BaseModel):
    episodes: int
    solved: int
    first_trial: int
    imagined_kept: int
    examples: int


class _Memory:
    """Long-term memory: the tasks of earlier episodes per tool, and how often each wording
    family was explored (the least explored is drawn next)."""

    def __init__(self) -> None:
        self.tasks: dict[str, list[str]] = {}
        self.families: Counter[str] = Counter()

    def pick(self, scenarios: list[Case], rng: random.Random) -> Case:
        least = min(self.families[c.phrasing] for c in scenarios)
        fresh = [c for c in scenarios if self.families[c.phrasing] == least]
        case = rng.choice(fresh)
        scenarios.remove(case)
        self.families[case.phrasing] += 1
        return case

    def recent(self, tool: str, count: int) -> str:
        tasks = self.tasks.get(tool, [])[-count:] if count else []
        return "\n".join(f"- {t}" for t in tasks) or "(none yet)"


def explore(
    config: ExploreConfig, explorer: ChatModel | None, *, show: bool = True
) -> dict[str, ToolSummary]:
    """Run every episode; write the episodes, the explored calls and a summary to `out`.
    `explorer` is None for the expert."""
    config.out.mkdir(parents=True, exist_ok=True)
    rng, memory = random.Random(config.seed), _Memory()
    episodes: list[Episode] = []
    calls: list[ExploredCall] = []
    total = config.episodes * len(config.tools)
    with (
        toolbox(explorer, config.out / "home", config.tools) as tools,
        counted_progress("exploring", total, show=show) as bar,
    ):
        for tool_name in config.tools:
            scenarios = _scenarios(config, tool_name)
            for number in range(config.episodes):
                case = memory.pick(scenarios, rng)
                episode, solved = _episode(config, tools[tool_name], case, explorer, memory, rng)
                episode.id = f"{tool_name}:{number}"
                episodes.append(episode)
                calls += [c.model_copy(update={"episode": episode.id}) for c in solved]
                bar.advance()
    write_records(config.out / EPISODES, episodes)
    write_records(config.out / CALLS, calls)
    summary = _summary(config.tools, episodes, calls)
    (config.out / SUMMARY).write_text(
        json.dumps({t: s.model_dump() for t, s in summary.items()}, indent=2)
    )
    return summary


def _scenarios(config: ExploreConfig, tool: ToolName) -> list[Case]:
    """Enough training-wording scenarios of `tool` from the exploration worlds."""
    per_world = -(-config.episodes // len(config.worlds))
    return [
        case
        for seed in config.worlds
        for case in make_cases(build_world(seed), per_world, "train", [tool])
    ]


def _episode(
    config: ExploreConfig,
    tool: ArgumentTool,
    case: Case,
    explorer: ChatModel | None,
    memory: _Memory,
    rng: random.Random,
) -> tuple[Episode, list[ExploredCall]]:
    task, source = case.task, "scenario"
    if config.imagine and explorer is not None:
        imagined = _reword(explorer, _imagine_prompt(config, tool, case, memory), rng, 0.7)
        if imagined is not None and _keeps(case, imagined):
            task, source = imagined, "imagined"
    memory.tasks.setdefault(tool.name, []).append(task)
    trials: list[Trial] = []
    for number in range(config.trials):
        trial = _trial(tool, case, task, trials, explorer, config.temperature if number else 0.0)
        trials.append(trial)
        if trial.ok or explorer is None:
            break
    episode = Episode(
        id="", tool=tool.name, case=case.id, source=source, task=task, trials=trials,  # type: ignore[arg-type]
    )  # fmt: skip
    if not episode.solved:
        return episode, []
    call = next(t.arguments for t in trials if t.ok)
    assert call is not None
    solved = [_explored(tool, case, task, call, source)]  # type: ignore[arg-type]
    for _ in range(config.paraphrases if explorer is not None else 0):
        paraphrase = _reword(explorer, [system(PARAPHRASE_SYSTEM), user(task)], rng, 0.9)
        if paraphrase is not None and _keeps(case, paraphrase) and paraphrase != task:
            solved.append(_explored(tool, case, paraphrase, call, "paraphrase"))
    return episode, solved


def _trial(
    tool: ArgumentTool,
    case: Case,
    task: str,
    earlier: Sequence[Trial],
    explorer: ChatModel | None,
    temperature: float,
) -> Trial:
    """One call: written (by the explorer, seeing its failed calls), executed, judged."""
    try:
        if explorer is None:
            checked = json.loads(call_json(parse_call(tool, case.call)))  # order, defaults
            arguments = call_json(checked | case.call)  # as written: "6:30 pm" stays
        else:
            messages = _with_memory(
                tool.argument_prompt(case.request, task, case.scratchpad), earlier
            )
            completion = explorer.complete(
                messages, schema=tool.call_schema(case.request, task, case.scratchpad),
                max_tokens=tool.argument_tokens,
                temperature=temperature, seed=len(earlier),
            )  # fmt: skip
            arguments = call_json(completion.parsed)
        observation = tool.execute(parse_call(tool, json.loads(arguments)))
    except WaypointError as e:
        return Trial(arguments=None, feedback=f"error: {e}"[:300], ok=False)
    except ValueError as e:  # a call that parsed but does not validate as the tool's type
        return Trial(arguments=None, feedback=f"error: {e}"[:300], ok=False)
    verdict = case.intent.judge(observation.text)
    return Trial(arguments=arguments, feedback=observation.text[:300], ok=verdict.ok)


def _with_memory(messages: list[Message], earlier: Sequence[Trial]) -> list[Message]:
    if not earlier:
        return messages
    attempts = "\n".join(f"- {t.arguments or '(no call)'} → {t.feedback}" for t in earlier)
    last = messages[-1]
    return [*messages[:-1], user(last.content + MEMORY_NOTE.format(attempts=attempts))]


def _imagine_prompt(
    config: ExploreConfig, tool: ArgumentTool, case: Case, memory: _Memory
) -> list[Message]:
    instructions = IMAGINE_SYSTEM.format(
        tool=tool.name, description=tool.description, task=case.task,
        memory=memory.recent(tool.name, config.memory),
    )  # fmt: skip
    return [system(instructions), user("The task:")]


class _Task(BaseModel):
    task: str = Field(min_length=8, max_length=TASK_CHARS)


def _reword(
    explorer: ChatModel, messages: list[Message], rng: random.Random, temperature: float
) -> str | None:
    try:
        completion = explorer.complete(
            messages, schema=_Task, max_tokens=96, temperature=temperature,
            seed=rng.randrange(2**31),
        )  # fmt: skip
    except ModelError:  # cut off or invalid: nothing imagined this time
        return None
    return " ".join(completion.parsed.task.split())


def _keeps(case: Case, task: str) -> bool:
    """Whether a rewording keeps everything the case's task must (compared in lower case)."""
    return all(key.lower() in task.lower() for key in case.keys)


def _explored(tool: ArgumentTool, case: Case, task: str, call: str, source: str) -> ExploredCall:
    prompt = tool.argument_prompt(case.request, task, case.scratchpad)
    return ExploredCall(
        episode="", tool=tool.name, case=case.id, source=source, task=task,  # type: ignore[arg-type]
        messages=[*prompt, assistant(call)],
    )  # fmt: skip


def _summary(
    tools: Sequence[str], episodes: Sequence[Episode], calls: Sequence[ExploredCall]
) -> dict[str, ToolSummary]:
    return {
        tool: ToolSummary(
            episodes=sum(e.tool == tool for e in episodes),
            solved=sum(e.tool == tool and e.solved for e in episodes),
            first_trial=sum(e.tool == tool and e.trials[0].ok for e in episodes),
            imagined_kept=sum(e.tool == tool and e.source == "imagined" for e in episodes),
            examples=sum(c.tool == tool for c in calls),
        )
        for tool in tools
    }


def explored_examples(paths: Sequence[Path]) -> list[SFTExample]:
    """The training conversations of explored calls (calls.jsonl files or their folders)."""
    from schemas.records import read_records

    examples = []
    for path in paths:
        file = path / CALLS if path.is_dir() else path
        if not file.is_file():
            raise WaypointError(
                f"no explored calls in {path}: run 'waypoint finetune explore-tools'"
            )
        examples += [call.example() for call in read_records(file, ExploredCall)]
    return examples
