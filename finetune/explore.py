"""Exploration (seed 000, KnowSelf): a fine-tuned planner on training requests, every step
compared with the gold plan of its state, the path kept on gold (`schemas.exploration`).

The atlas world knows the gold plan of every state: the expert's next open step, found by
the judge's own test of what a step does (`tools.atlas.judge.does`). The planner's plan is
right when the judge would rate its task and tool 5. A wrong plan gets a second try at a
higher temperature, with the first ruled out by the plan grammar; the gold plan is then
taken, so the run goes on from a state the expert could be in. Records land in a resumable
JSONL, one per request, like trajectories.
"""

from collections import Counter
from collections.abc import Iterable, Sequence
from pathlib import Path

from finetune.resumable import RunSummary, run_resumable
from finetune.sft_data import DatasetError
from finetune.simulation import atlas_world_of, world_requests
from models.chat_model import ChatModel
from planner.agent import Agent
from planner.base import Decision, Planner
from planner.model_planner import FineTunedPlanner, ModelPlanner
from schemas.errors import WaypointError
from schemas.exploration import Exploration, ExploredStep
from schemas.plan import PlanRecord
from schemas.records import read_records
from schemas.request import Request
from schemas.trajectory import Exchange, Scratchpad, Step, Trajectory, TrajectoryMeta
from tools.atlas.judge import AtlasJudge, does
from tools.atlas.requests import NOTHING_YET, AtlasRequest, GoldStep
from tools.atlas.tools import atlas_tools
from tools.base import Tool

EXPLORATIONS = "explorations.jsonl"
RETRY_TEMPERATURE = 0.8  # a second try should be able to differ from the greedy first one


def remaining(request: AtlasRequest, steps: Sequence[Step]) -> list[GoldStep]:
    """The gold work steps that `steps` have not done yet, in the solution's order."""
    *work, _ = request.solution
    open_steps = list(work)
    for step in steps:
        plan = step.plan
        done = (g for g in open_steps if g.tool == plan.tool and does(request, g, plan.task))
        if (gold := next(done, None)) is not None:
            open_steps.remove(gold)
    return open_steps


def gold_plan(request: AtlasRequest, steps: Sequence[Step]) -> PlanRecord:
    """The expert's plan after `steps`: the first open gold step (the answer when none is
    left), with what the done ones learned as its context."""
    open_steps = remaining(request, steps)
    *work, answer = request.solution
    learned = [g.learned for g in work if g not in open_steps and g.learned]
    nxt = open_steps[0] if open_steps else answer
    context = " ".join(learned) or NOTHING_YET
    return PlanRecord(context=context, thoughts=nxt.thoughts, task=nxt.task, tool=nxt.tool)


def mistake(request: AtlasRequest, steps: Sequence[Step], plan: PlanRecord) -> str | None:
    """Why the judge would rate `plan` below 5 on task or tool after `steps`; None if it
    would not."""
    trial = Trajectory(
        request_id=request.id,
        request=request.text,
        steps=[*steps, Step(plan=plan, observation="")],
        meta=TrajectoryMeta(planner="explorer"),
    )
    rating = AtlasJudge().judge(request, trial).steps[-1]
    if rating.task.score == 5 and rating.tool.score == 5:
        return None
    return (rating.task if rating.task.score < 5 else rating.tool).explanation


class ExploringPlanner(Planner):
    """The planner under exploration, checked at every step; an agent runs its steps."""

    name = "explorer"

    def __init__(
        self,
        planner: ModelPlanner,
        requests: Iterable[AtlasRequest],
        retry_temperature: float = RETRY_TEMPERATURE,
    ) -> None:
        self.planner = planner
        self.tool_names = planner.tool_names
        self.model_name = planner.model_name
        self.requests = {_key(r.text, r.history): r for r in requests}
        self.retry_temperature = retry_temperature
        self.explored: list[ExploredStep] = []  # of the request being run

    def plan(
        self,
        request: str,
        scratchpad: Scratchpad,
        history: Sequence[Exchange] = (),
        *,
        only: Sequence[str] | None = None,
    ) -> Decision:
        atlas = self.requests.get(_key(request, history))
        if atlas is None:
            raise WaypointError(f"exploration needs atlas requests, not {request[:80]!r}")
        own = self.planner.plan(request, scratchpad, history, only=only)
        gold = gold_plan(atlas, scratchpad.steps)
        reason = mistake(atlas, scratchpad.steps, own.plan)
        if reason is None:
            self.explored.append(ExploredStep(situation="act", own=own.plan, gold=gold))
            return own
        retry = self._retry(request, scratchpad, history, only, own.plan)
        fixed = mistake(atlas, scratchpad.steps, retry) is None
        situation = "reflect" if fixed else "consult"
        self.explored.append(
            ExploredStep(situation=situation, own=own.plan, gold=gold, retry=retry, reason=reason)
        )
        return Decision(plan=gold)

    def _retry(
        self,
        request: str,
        scratchpad: Scratchpad,
        history: Sequence[Exchange],
        only: Sequence[str] | None,
        first: PlanRecord,
    ) -> PlanRecord:
        """Another plan for the same prompt, the first ruled out as a repeated step is."""
        ruled_out = Scratchpad(steps=[*scratchpad.steps, Step(plan=first, observation="")])
        messages = self.planner.messages(request, scratchpad, history)
        schema = self.planner.schema(ruled_out, only)
        completion = self.planner.complete(messages, schema, temperature=self.retry_temperature)
        return PlanRecord.model_validate(completion.parsed)  # a schema dict parses to a dict


def _key(request: str, history: Sequence[Exchange]) -> tuple[str, ...]:
    return (request, *(e.request for e in history))


def explore(
    requests: Sequence[Request],
    planner: ModelPlanner,
    tools: Sequence[Tool],
    out: Path,
    *,
    max_steps: int = 10,
    retry_temperature: float = RETRY_TEMPERATURE,
    show_progress: bool = True,
) -> RunSummary:
    """Append to `out` an exploration of every request that has none there yet."""
    atlas = [r for r in requests if isinstance(r, AtlasRequest)]
    if len(atlas) != len(requests):
        raise WaypointError("exploration compares steps with gold plans: atlas requests only")
    explorer = ExploringPlanner(planner, atlas, retry_temperature)
    agent = Agent(explorer, tools, max_steps=max_steps)

    def run(request: AtlasRequest) -> Exploration:
        explorer.explored = []
        trajectory = agent.run(request.text, request_id=request.id, history=request.history)
        if trajectory.status == "failed":
            raise WaypointError(f"{request.id}: {trajectory.reason}")
        return Exploration(
            request_id=request.id,
            request=request.text,
            history=request.history,
            planner=planner.model_name or planner.name,
            steps=trajectory.steps,
            explored=explorer.explored,
        )

    return run_resumable(
        atlas, lambda r: r.id, run, out, Exploration, lambda e: e.request_id,
        label="explored requests", show_progress=show_progress,
    )  # fmt: skip


def read_explorations(path: Path) -> list[Exploration]:
    """The explorations in `path`, a JSONL file or the folder that holds one."""
    path = path / EXPLORATIONS if path.is_dir() else path
    if not path.is_file():
        raise DatasetError(f"no explorations in {path}: run 'waypoint finetune explore' first")
    return read_records(path, Exploration)


def explore_requests(
    requests_file: Path,
    model: ChatModel,
    out: Path,
    *,
    count: int | None = None,
    max_steps: int = 10,
    retry_temperature: float = RETRY_TEMPERATURE,
) -> tuple[RunSummary, Counter[str]]:
    """`model` as the fine-tuned planner over the first `count` atlas requests of
    `requests_file` (all by default), into `out`/explorations.jsonl; returns the run's
    summary and how many steps of every exploration there fell in each situation."""
    requests = world_requests(requests_file, "atlas")[:count]
    tools = atlas_tools(atlas_world_of(requests))
    out.mkdir(parents=True, exist_ok=True)
    path = out / EXPLORATIONS
    planner = FineTunedPlanner(model, tools)
    summary = explore(
        requests, planner, tools, path, max_steps=max_steps, retry_temperature=retry_temperature
    )
    records = read_records(path, Exploration)
    return summary, Counter(e.situation for r in records for e in r.explored)
