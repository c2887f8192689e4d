"""A conversation on disk: its trajectories as JSONL, one per line, so a chat can be replayed
or fed to the evaluation and training tools like any other run."""

from collections.abc import Sequence
from pathlib import Path

from schemas.records import write_records
from schemas.trajectory import Trajectory


def save_transcript(path: Path, trajectories: Sequence[Trajectory]) -> None:
    """Write the file whole or not at all."""
    write_records(path, trajectories)


def load_transcript(path: Path) -> list[Trajectory]:
    with path.open(encoding="utf-8") as f:
        return [Trajectory.model_validate_json(line) for line in f if line.strip()]
