"""From run folders to numbers: every metric per planner and run, mean ± standard error over
runs, the accounting of every request, and comparisons between two planners.

A planner's results in one folder are a *series*, named by the planner's label; when
several folders hold the same label, the series are told apart as `LABEL@RUN_DIR`.
"""

from collections import Counter, defaultdict
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from pydantic import BaseModel, Field

from evals.errors import EvalError
from evals.metrics import METRICS, Estimate, Judged, estimate, pass_rate, run_metrics, welch_p
from evals.store import RatingRecord, RunStore, TrajectoryRecord
from schemas.request import Request
from tools.atlas.requests import HELD_OUT_SHAPES

FAILURES_SHOWN = 3


class Series(BaseModel):
    name: str
    planner: str
    run_dir: str
    requests: int = Field(description="in the request set")
    runs: int = Field(description="runs with at least one trajectory")
    trajectories: int
    missing: int = Field(description="(run, request) pairs not run yet: an interrupted run")
    unrated: int = Field(description="trajectories without a rating yet")
    statuses: dict[str, int]
    metrics: dict[str, Estimate]
    per_run: list[dict[str, float | None]]
    pass_by_shape: dict[str, Estimate] = Field(
        default_factory=dict, description="pass rate over runs per request shape, if shaped"
    )
    pass_trained_shapes: Estimate | None = Field(
        None, description="pass rate without the shapes held out of training (atlas)"
    )
    failures: list[str] = Field(description="the reasons of the first few failed runs")


class EvalSummary(BaseModel):
    run_dirs: list[str]
    series: list[Series]

    def find(self, name: str) -> Series:
        for series in self.series:
            if series.name == name:
                return series
        names = ", ".join(s.name for s in self.series)
        raise EvalError(f"no planner {name!r} in {', '.join(self.run_dirs)}; there are: {names}")


def summarize(run_dirs: Path | Sequence[Path]) -> EvalSummary:
    dirs = [run_dirs] if isinstance(run_dirs, Path) else list(run_dirs)
    if not dirs:
        raise EvalError("name at least one run folder")
    series = [s for d in dirs for s in _folder_series(RunStore.open(d))]
    counts = Counter(s.planner for s in series)
    for s in series:
        if counts[s.planner] > 1:
            s.name = f"{s.planner}@{s.run_dir}"
    return EvalSummary(run_dirs=[str(d) for d in dirs], series=series)


def _folder_series(store: RunStore) -> list[Series]:
    requests = {r.id: r for r in store.request_set().requests}
    ratings = {r.key: r for r in store.ratings()}
    by_planner: dict[str, list[TrajectoryRecord]] = defaultdict(list)
    for record in store.trajectories():
        by_planner[record.planner].append(record)
    return [
        _series(planner, str(store.root), records, ratings, requests)
        for planner, records in by_planner.items()
    ]


def _series(
    planner: str,
    run_dir: str,
    records: list[TrajectoryRecord],
    ratings: dict[tuple[str, int, str], RatingRecord],
    requests: dict[str, Request],
) -> Series:
    by_run: dict[int, list[Judged]] = defaultdict(list)
    for record in records:
        rating, request = ratings.get(record.key), requests.get(record.trajectory.request_id)
        by_run[record.run].append(
            Judged(
                trajectory=record.trajectory,
                rating=rating.rating if rating else None,
                gold=request.gold if request else None,
                shape=request.shape if request else None,
            )
        )
    runs = [by_run[run] for run in sorted(by_run)]
    per_run = [run_metrics(judged) for judged in runs]
    trajectories = [r.trajectory for r in records]
    return Series(
        name=planner,
        planner=planner,
        run_dir=run_dir,
        requests=len(requests),
        runs=len(by_run),
        trajectories=len(records),
        missing=len(by_run) * len(requests) - len(records),
        unrated=sum(r.key not in ratings for r in records),
        statuses=dict(Counter(t.status for t in trajectories)),
        metrics={m.key: estimate([run[m.key] for run in per_run]) for m in METRICS},
        per_run=per_run,
        failures=[f"{t.request_id}: {t.reason}" for t in trajectories if t.status == "failed"][
            :FAILURES_SHOWN
        ],
        **_by_shape(runs),
    )


def _by_shape(runs: list[list[Judged]]) -> dict[str, Any]:
    """Pass rates per request shape, and over the shapes that training saw: a held-out
    shape is reported apart from the held-out wordings of trained ones."""
    shapes = {j.shape for judged in runs for j in judged if j.shape}
    if not shapes:
        return {}
    return {
        "pass_by_shape": {shape: _pass_over(runs, {shape}) for shape in sorted(shapes)},
        "pass_trained_shapes": _pass_over(runs, shapes - set(HELD_OUT_SHAPES)),
    }


def _pass_over(runs: list[list[Judged]], shapes: set[str]) -> Estimate:
    return estimate([pass_rate([j for j in judged if j.shape in shapes]) for judged in runs])


class MetricComparison(BaseModel):
    metric: str
    a: Estimate
    b: Estimate
    p_value: float | None = Field(description="Welch's t-test over runs; None if undefined")


class Comparison(BaseModel):
    a: str
    b: str
    metrics: list[MetricComparison]


def compare(summary: EvalSummary, a: str, b: str) -> Comparison:
    """Planner `a` against planner `b` (series names), metric by metric."""
    first, second = summary.find(a), summary.find(b)
    return Comparison(
        a=a,
        b=b,
        metrics=[
            MetricComparison(
                metric=m.key,
                a=first.metrics[m.key],
                b=second.metrics[m.key],
                p_value=welch_p(first.metrics[m.key].values, second.metrics[m.key].values),
            )
            for m in METRICS
        ],
    )
