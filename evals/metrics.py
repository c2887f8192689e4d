"""The evaluation metrics, as pure functions of judged trajectories.

Definitions (seed 003's, made exact):
- pass rate: share of requests whose final answer is rated ≥ 4;
- bad-task rate: share of steps whose task is rated ≤ 3;
- completion rate: share of requests answered within 10 steps;
plus the mean number of steps, tool-choice accuracy against the gold tool sequence (where a
request has one), the planner's tokens and the seconds per request.

Every trajectory counts, whatever its status: a failed or incomplete run has no answer, so
it is not completed and its answer is rated 1 by the judges. A trajectory the judge could
not rate yet is left out of the two rated metrics only (its rating is missing, not bad).
A metric with nothing to measure (no steps, no gold) is None, never 0.

Runs are summarised as mean ± standard error of the per-run values; two planners are
compared with Welch's t-test on those values.
"""

import math
import statistics
import warnings
from collections.abc import Callable, Sequence
from typing import NamedTuple

from pydantic import BaseModel

from schemas.rating import TrajectoryRating
from schemas.request import Gold
from schemas.trajectory import Trajectory

PASS_MIN = 4  # an answer rated this or higher passes
BAD_TASK_MAX = 3  # a task rated this or lower is bad
COMPLETION_STEPS = 10  # an answer after more steps does not count as completed


class Judged(BaseModel):
    """One trajectory with its rating (None until judged) and its request's gold."""

    trajectory: Trajectory
    rating: TrajectoryRating | None = None
    gold: Gold | None = None
    shape: str | None = None  # the request's shape, where its set names one


def _share(hits: int, total: int) -> float | None:
    return hits / total if total else None


def _mean(values: Sequence[float]) -> float | None:
    return statistics.fmean(values) if values else None


def pass_rate(judged: Sequence[Judged]) -> float | None:
    rated = [j.rating for j in judged if j.rating is not None]
    return _share(sum(r.answer.score >= PASS_MIN for r in rated), len(rated))


def bad_task_rate(judged: Sequence[Judged]) -> float | None:
    steps = [s for j in judged if j.rating is not None for s in j.rating.steps]
    return _share(sum(s.task.score <= BAD_TASK_MAX for s in steps), len(steps))


def completion_rate(judged: Sequence[Judged]) -> float | None:
    done = sum(
        j.trajectory.status == "answered" and len(j.trajectory.steps) <= COMPLETION_STEPS
        for j in judged
    )
    return _share(done, len(judged))


def mean_steps(judged: Sequence[Judged]) -> float | None:
    return _mean([len(j.trajectory.steps) for j in judged])


def tool_accuracy(judged: Sequence[Judged]) -> float | None:
    """Share of steps whose tool is the gold tool at that position; steps past the end of
    the gold sequence are wrong. Only requests with a gold tool sequence count."""
    hits = total = 0
    for j in judged:
        if j.gold is None or not j.gold.tools:
            continue
        tools = [s.plan.tool for s in j.trajectory.steps]
        hits += sum(tool == gold for tool, gold in zip(tools, j.gold.tools, strict=False))
        total += len(tools)
    return _share(hits, total)


def tokens_per_request(judged: Sequence[Judged]) -> float | None:
    return _mean([j.trajectory.prompt_tokens + j.trajectory.completion_tokens for j in judged])


def seconds_per_request(judged: Sequence[Judged]) -> float | None:
    return _mean([j.trajectory.seconds for j in judged])


class Metric(NamedTuple):
    key: str
    title: str
    compute: Callable[[Sequence[Judged]], float | None]
    rate: bool  # a share in [0, 1]: the rates are plotted together
    higher_is_better: bool
    digits: int  # decimals worth printing


METRICS: tuple[Metric, ...] = (
    Metric("pass_rate", "pass rate", pass_rate, True, True, 2),
    Metric("bad_task_rate", "bad-task rate", bad_task_rate, True, False, 2),
    Metric("completion_rate", "completion rate", completion_rate, True, True, 2),
    Metric("tool_accuracy", "tool accuracy", tool_accuracy, True, True, 2),
    Metric("mean_steps", "mean steps", mean_steps, False, False, 1),
    Metric("tokens_per_request", "tokens / request", tokens_per_request, False, False, 0),
    Metric("seconds_per_request", "s / request", seconds_per_request, False, False, 2),
)


def run_metrics(judged: Sequence[Judged]) -> dict[str, float | None]:
    """Every metric of one run of one planner over a request set."""
    return {m.key: m.compute(judged) for m in METRICS}


class Estimate(BaseModel):
    """A metric over runs: the mean of the runs that measured it, its standard error (None
    with fewer than two such runs), and those runs' values."""

    mean: float | None
    se: float | None
    values: list[float]


def estimate(values: Sequence[float | None]) -> Estimate:
    measured = [v for v in values if v is not None]
    se = statistics.stdev(measured) / math.sqrt(len(measured)) if len(measured) > 1 else None
    return Estimate(mean=_mean(measured), se=se, values=measured)


def welch_p(a: Sequence[float], b: Sequence[float]) -> float | None:
    """Two-sided p-value of Welch's t-test for a difference in means; None when it is
    undefined (fewer than two values on a side, or both sides constant and equal)."""
    if len(a) < 2 or len(b) < 2:
        return None
    from scipy import stats

    with warnings.catch_warnings():  # near-constant samples warn; the p-value says enough
        warnings.simplefilter("ignore", RuntimeWarning)
        p = float(stats.ttest_ind(a, b, equal_var=False).pvalue)
    return None if math.isnan(p) else p
