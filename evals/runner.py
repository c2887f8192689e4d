"""Running an evaluation: every planner over every request, `runs` times, each trajectory
judged and stored the moment it exists.

Nothing is dropped: a run that ends without an answer is recorded as it ended, and a run
that crashes is recorded as `failed` with the exception as its reason. A run cut short by a
model server's fault (`ServerFault`: unreachable, 429, 5xx, timeouts, after the client's
retries) is the server's failure, not the planner's: it is counted (`faults`), not recorded.
A rerun of the same evaluation skips every (planner, run, request) already recorded and
rated, runs the rest, and rates any trajectory whose rating is missing (a model judge that
failed on it before). With `workers > 1` items run on that many threads (for planners,
judges and simulators behind HTTP); results are stored by this thread as they finish.
Ctrl-C stops after the records already written; the requests in flight run again next time.
"""

import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

from pydantic import Field

from evals.environment import Environment, Models, default_judge, make_environment
from evals.errors import EvalInterrupted
from evals.planners import PlannerFor, PlannerSpec, parse_planners, planner_for
from evals.request_sets import RequestSet, load_request_set
from evals.store import EvalConfig, EvalSettings, RatingRecord, RunStore, TrajectoryRecord
from models.chat_model import ChatModel, ServerFault
from planner.agent import Agent
from planner.events import Event, RunFinished
from schemas.errors import WaypointError
from schemas.interrupt import SigintWatch
from schemas.progress import RunSummary, counted_progress
from schemas.request import Request
from schemas.trajectory import Trajectory, TrajectoryMeta
from schemas.workers import as_finished


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
    workers: int = 1,
    gpu_layers: int | None = None,
    on_local_model: Callable[[ChatModel], None] | None = None,
) -> EvalRunSummary:
    """Run, judge and store; see the module docstring. `judge` None: the world's own
    programmatic judge (atlas, or check for real-tool requests). `workers` > 1 needs every
    model of the evaluation behind HTTP; `gpu_layers` is for in-process models
    (`models.registry.load_chat_model`), and `on_local_model` hears of the first of them once
    the evaluation is set up. Raises EvalInterrupted on Ctrl-C."""
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
    models = Models(gpu_layers)
    # the expert names every entity it searches for, so only other planners need embeddings
    warm = any(s.kind != "expert" for s in specs)
    environment = make_environment(
        request_set, judge, simulator, models, seed=settings.seed, warm=warm,
        home=store.root / "home", tool_caller=settings.tool_caller,
    )  # fmt: skip
    sources = {  # every planner is built before the first run, so a bad one fails early
        s.label: planner_for(s, request_set, environment, settings, models) for s in specs
    }
    if workers > 1:
        models.require_http(tool_caller=settings.tool_caller)
    if on_local_model is not None and (local := models.local()):
        on_local_model(next(iter(local.values())))  # once everything is set up
    evaluation = _Evaluation(store, environment, sources, request_set.requests, runs)
    return evaluation.run(show_progress, workers)


Item = tuple[str, int, Request]  # (planner label, run, request)


@dataclass
class _Done:
    """What one item's work produced, for the caller's thread to store and count."""

    record: TrajectoryRecord
    new: bool
    rating: RatingRecord | None = None
    judge_error: str | None = None


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

    def run(self, show_progress: bool, workers: int = 1) -> EvalRunSummary:
        """Every item not yet rated, on `workers` threads; only this thread writes."""
        trajectories = {r.key: r for r in self.store.trajectories()}
        rated = {r.key for r in self.store.ratings()}
        todo = [item for item in self._items() if _key(item) not in rated]
        self.summary.skipped = self.summary.total - len(todo)
        started = time.perf_counter()

        def work(item: Item) -> _Done:
            return self._work(item, trajectories.get(_key(item)))

        with (
            counted_progress(
                "eval", self.summary.total, completed=self.summary.skipped, show=show_progress
            ) as progress,
            SigintWatch() as interrupt,
        ):
            try:
                for (label, run, request), done in as_finished(todo, work, workers, name="eval"):
                    progress.describe(f"{label} · run {run + 1}/{self.runs}")
                    if isinstance(done, WaypointError):  # a server's fault: no record
                        self.summary.faults += 1
                        self.summary.note(f"{label} run {run} {request.id}: {done}")
                    else:
                        self._store(done)
                    progress.advance()
                    interrupt.check()  # a Ctrl-C that a finalizer swallowed still stops the run
            except KeyboardInterrupt:
                raise EvalInterrupted(
                    f"interrupted: the finished records are kept in {self.store.root}; "
                    "run the same command again to continue"
                ) from None
        self.summary.seconds = time.perf_counter() - started
        return self.summary

    def _items(self) -> Iterator[Item]:
        """(planner, run, request), one planner's runs after another."""
        for label in self.sources:
            for run in range(self.runs):
                for request in self.requests:
                    yield label, run, request

    def _work(self, item: Item, record: TrajectoryRecord | None) -> _Done:
        """Run (unless recorded before) and judge one item; raises only a ServerFault."""
        label, run, request = item
        done = _Done(record=record or self._run(label, run, request), new=record is None)
        try:
            rating = self.environment.judge.judge(request, done.record.trajectory)
        except WaypointError as e:  # a model judge's bad verdict or fault: rated next rerun
            done.judge_error = f"judge, {label} run {run} {request.id}: {e}"
        else:
            done.rating = RatingRecord(planner=label, run=run, rating=rating)
        return done

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
        return TrajectoryRecord(planner=label, run=run, trajectory=attempt(agent, request, meta))

    def _store(self, done: _Done) -> None:
        record = done.record
        if done.new:
            self.store.add_trajectory(record)
            self.summary.written += 1
            if record.trajectory.status == "failed":
                self.summary.failed += 1
                request_id = record.trajectory.request_id
                self.summary.note(f"{record.planner} run {record.run} {request_id}: "
                                  f"{record.trajectory.reason}")  # fmt: skip
        if done.rating is None:
            self.summary.unjudged += 1
            self.summary.note(done.judge_error or "judge: no rating")
            return
        self.store.add_rating(done.rating)
        self.summary.judged += 1


def _key(item: Item) -> tuple[str, int, str]:
    label, run, request = item
    return label, run, request.id


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
    except ServerFault:
        raise  # the server's trouble, not the planner's: no record, run again next time
    except Exception as e:  # any crash is a result of the planner under test, so a record
        empty = Trajectory(request_id=request.id, request=request.text, meta=meta)
        trajectory = finished[-1] if finished else empty
        reason = f"crashed: {type(e).__name__}: {e}"
        return trajectory.model_copy(update={"status": "failed", "reason": reason[:500]})
    finally:
        agent.unsubscribe(keep)
