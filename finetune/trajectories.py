"""Trajectories for a request set: the agent on every request, resumable, one JSONL record
per request (keyed by its id), concurrent when the planner's model is behind HTTP."""

from collections.abc import Sequence
from pathlib import Path

from finetune.resumable import RunSummary, run_resumable
from planner.agent import Agent
from schemas.request import Request
from schemas.trajectory import Trajectory, TrajectoryMeta


def generate_trajectories(
    requests: Sequence[Request],
    agent: Agent,
    out: Path,
    meta: TrajectoryMeta,
    *,
    workers: int = 1,
    show_progress: bool = True,
) -> RunSummary:
    """Append to `out` a trajectory for every request that has none there yet. Use one
    worker for an in-process model (llama.cpp runs one completion at a time)."""

    def run(request: Request) -> Trajectory:
        return agent.run(request.text, request_id=request.id, meta=meta, history=request.history)

    return run_resumable(
        requests, lambda r: r.id, run, out, Trajectory, lambda t: t.request_id,
        workers=workers, label="trajectories", show_progress=show_progress,
    )  # fmt: skip
