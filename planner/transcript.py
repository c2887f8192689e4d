"""A conversation on disk: its trajectories as JSONL, one per line, so a chat can be replayed
or fed to the evaluation and training tools like any other run."""

import os
import tempfile
from collections.abc import Sequence
from pathlib import Path

from schemas.trajectory import Trajectory


def save_transcript(path: Path, trajectories: Sequence[Trajectory]) -> None:
    """Write the file whole or not at all (temporary file, then rename)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}-")
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            f.writelines(t.model_dump_json() + "\n" for t in trajectories)
        os.replace(tmp, path)
    except BaseException:
        os.unlink(tmp)
        raise


def load_transcript(path: Path) -> list[Trajectory]:
    with path.open(encoding="utf-8") as f:
        return [Trajectory.model_validate_json(line) for line in f if line.strip()]
