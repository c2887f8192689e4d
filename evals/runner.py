"""Running an evaluation: every planner over every request, `runs` times, each trajectory
judged and stored the moment it exists.

Nothing is dropped: a run that ends without an answer is recorded as it ended, and a run
that crashes is recorded as `failed` with the exception as its reason. A rerun of the same
evaluation skips every (planner, run, request) already recorded and rates any trajectory
whose rating is missing (a model judge that failed on it before). Ctrl-C stops after the
records already written; the request in flight is run again next time.
"""

import time
from collections.abc import Iterator, Sequence
from pathlib import Path

from pydantic import Field

from evals.environment import Environment, Models, default_judge, make_environment
from evals.errors import EvalInterrupted
from evals.planners import PlannerFor, PlannerSpec, parse_planners, planner_for
from evals.request_sets import RequestSet, load_request_set
from evals.store import EvalConfig, EvalSettings, RatingRecord, RunStore, TrajectoryRecord
from planner.agent import Agent
from planner.events import Event, RunFinished
from schemas.errors import WaypointError
from schemas.progress import RunSummary, counted_progress
from schemas.request import Request
from schemas.trajectory import Trajectory, TrajectoryMeta


class EvalRunSummary(RunSummary):
    """Counts (planner, run, request) items: `written` are new trajectories, `failed` those of
    them that ended with status failed, `skipped` items already recorded and rated."""

    run_dir: Path
    judged: int = 0
    unjudged: int = Field(0, description="trajectories the judge could not rate this time")


def run_eval(
    planners: Sequence[str | PlannerSpec],
    requests: str | RequestSet,
    runs: int,
    judge: str | None,
    out_dir: Path,
    *,
    settings: EvalSettings | None = None,
    simulator: str | None = None,
    show_progress: bool = True,
) -> EvalRunSummary:
    """Run, judge and store; see the module docstring. `judge` None: the world's own
    programmatic judge (atlas, or check for real-tool requests). Raises EvalInterrupted on
    Ctrl-C."""
    if runs < 1:
        raise WaypointError(f"runs must be at least 1, got {runs}")
    specs = parse_planners(p.label if isinstance(p, PlannerSpec) else p for p in planners)
    request_set = load_request_set(requests) if isinstance(requests, str) else requests
    judge = judge or default_judge(request_set.world)
    settings = settings or EvalSettings()
    config = EvalConfig(
        requests=request_set.spec,
        world=request_set.world,
        judge=judge,
        simulator=simulator,
        settings=settings,
    )
    store = RunStore.create_or_continue(out_dir, config, request_set)
    request_set = store.request_set()
    models = Models()
    # the expert names every entity it searches for, so only other planners need embeddings
    warm = any(s.kind != "expert" for s in specs)
    environment = make_environment(
        request_set, judge, simulator, models, seed=settings.seed, warm=warm,
        home=store.root / "home", tool_caller=settings.tool_caller,
    )  # fmt: skip
    sources = {  # every planner is built before the first run, so a bad one fails early
        s.label: planner_for(s, request_set, environment, settings, models) for s in specs
    }
    return _Evaluation(store, environment, sources, request_set.requests, runs).run(show_progress)


class _Evaluation:
    def __init__(
        self,
        store: RunStore,
        environment: Environment,
        sources: dict[str, PlannerFor],
        requests: Sequence[Request],
        runs: int,
    ) -> None:
        self.store, self.environment, self.sources = store, environment, sources
        self.requests, self.runs = requests, runs
        self.summary = EvalRunSummary(run_dir=store.root, total=len(sources) * runs * len(requests))

    def run(self, show_progress: bool) -> EvalRunSummary:
        trajectories = {r.key: r for r in self.store.trajectories()}
        rated = {r.key for r in self.store.ratings()}
        started = time.perf_counter()
        with counted_progress("eval", self.summary.total, show=show_progress) as progress:
            try:
                for label, run, request in self._items():
                    progress.describe(f"{label} · run {run + 1}/{self.runs}")
                    key = (label, run, request.id)
                    if key in rated:
                        self.summary.skipped += 1
                    else:
                        record = trajectories.get(key) or self._run(label, run, request)
                        self._judge(request, record)
                    progress.advance()
            except KeyboardInterrupt:
                raise EvalInterrupted(
                    f"interrupted: the finished records are kept in {self.store.root}; "
                    "run the same command again to continue"
                ) from None
        self.summary.seconds = time.perf_counter() - started
        return self.summary

    def _items(self) -> Iterator[tuple[str, int, Request]]:
        """(planner, run, request), one planner's runs after another."""
        for label in self.sources:
            for run in range(self.runs):
                for request in self.requests:
                    yield label, run, request

    def _run(self, label: str, run: int, request: Request) -> TrajectoryRecord:
        planner = self.sources[label](run, request)
        agent = Agent(planner, self.environment.tools, self.store.config.settings.max_steps)
        meta = TrajectoryMeta(
            planner=label,
            model=agent.planner.model_name,
            seed=self.store.config.settings.seed + run,
            world=self.environment.world,
            run=run,
        )
        trajectory = attempt(agent, request, meta)
        record = TrajectoryRecord(planner=label, run=run, trajectory=trajectory)
        self.store.add_trajectory(record)
        self.summary.written += 1
        if trajectory.status == "failed":
            self.summary.failed += 1
            self.summary.note(f"{label} run {run} {request.id}: {trajectory.reason}")
        return record

    def _judge(self, request: Request, record: TrajectoryRecord) -> None:
        try:
            rating = self.environment.judge.judge(request, record.trajectory)
        except WaypointError as e:  # a model judge's bad verdict: rated on the next rerun
            self.summary.unjudged += 1
            self.summary.note(f"judge, {record.planner} run {record.run} {request.id}: {e}")
            return
        self.store.add_rating(RatingRecord(planner=record.planner, run=record.run, rating=rating))
        self.summary.judged += 1


def attempt(agent: Agent, request: Request, meta: TrajectoryMeta) -> Trajectory:
    """The agent's trajectory for `request`; a crash becomes a failed trajectory holding the
    steps finished before it (the agent reports them as its run ends, crash or not)."""
    finished: list[Trajectory] = []

    def keep(event: Event) -> None:
        if isinstance(event, RunFinished):
            finished.append(event.trajectory)

    agent.subscribe(keep)
    try:
        return agent.run(request.text, request_id=request.id, meta=meta, history=request.history)
    except Exception as e:  # any crash is a result of the planner under test, so a record
        empty = Trajectory(request_id=request.id, request=request.text, meta=meta)
        trajectory = finished[-1] if finished else empty
        reason = f"crashed: {type(e).__name__}: {e}"
        return trajectory.model_copy(update={"status": "failed", "reason": reason[:500]})
    finally:
        agent.unsubscribe(keep)
