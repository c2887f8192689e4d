"""SFT examples on disk (JSONL, one `SFTExample` a line) and the train/validation split."""

import hashlib
from collections.abc import Sequence
from pathlib import Path

from schemas.dataset import SFTExample
from schemas.errors import WaypointError
from schemas.records import read_records


class DatasetError(WaypointError):
    """An SFT dataset file is missing, malformed or empty."""


def read_examples(path: Path) -> list[SFTExample]:
    """Every example in `path`; a bad line stops the run with its line number."""
    if not path.is_file():
        raise DatasetError(f"no such dataset file: {path}")
    examples = read_records(path, SFTExample)
    if not examples:
        raise DatasetError(f"{path} holds no examples")
    for number, example in enumerate(examples, 1):
        _check_shape(example, f"{path}, example {number}")
    return examples


def _check_shape(example: SFTExample, where: str) -> None:
    roles = [m.role for m in example.messages]
    turns = roles[1:] if roles[:1] == ["system"] else roles
    if not turns or turns != ["user", "assistant"] * (len(turns) // 2):
        raise DatasetError(
            f"{where}: after an optional system message the messages must alternate user and "
            "assistant, ending with a plan (an assistant message)"
        )


def split_by_request(
    examples: Sequence[SFTExample], val_fraction: float, seed: int
) -> tuple[list[SFTExample], list[SFTExample]]:
    """Hold out whole requests: a conversation per request, its split seeded and stable."""
    ids = sorted({e.request_id for e in examples}, key=lambda rid: _rank(rid, seed))
    if len(ids) < 2:
        raise DatasetError("a validation split needs examples from at least two requests")
    held_out = set(ids[: max(1, round(len(ids) * val_fraction))])
    train = [e for e in examples if e.request_id not in held_out]
    val = [e for e in examples if e.request_id in held_out]
    return train, val


def _rank(request_id: str, seed: int) -> str:
    """A stable pseudo-random order (Python's hash() changes between processes)."""
    return hashlib.sha1(f"{seed}:{request_id}".encode()).hexdigest()
