"""Ratings for trajectories: a judge (the atlas judge or an LLM judge) on every trajectory,
resumable like trajectory generation, one `TrajectoryRating` per request id."""

from collections.abc import Mapping, Sequence
from pathlib import Path

from finetune.resumable import RunSummary, run_resumable
from planner.judge import Judge
from schemas.errors import WaypointError
from schemas.rating import TrajectoryRating
from schemas.request import Request
from schemas.trajectory import Trajectory


def judge_trajectories(
    trajectories: Sequence[Trajectory],
    requests: Mapping[str, Request],
    judge: Judge,
    out: Path,
    *,
    workers: int = 1,
    show_progress: bool = True,
) -> RunSummary:
    """Append to `out` a rating for every trajectory that has none there yet."""
    if missing := [t.request_id for t in trajectories if t.request_id not in requests]:
        raise WaypointError(f"{len(missing)} trajectories have no request, e.g. {missing[0]!r}")

    def rate(trajectory: Trajectory) -> TrajectoryRating:
        return judge.judge(requests[trajectory.request_id], trajectory)

    return run_resumable(
        trajectories, lambda t: t.request_id, rate, out, TrajectoryRating,
        lambda r: r.request_id, workers=workers, label="ratings", show_progress=show_progress,
    )  # fmt: skip
