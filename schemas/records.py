"""JSONL files of Pydantic records that survive kill -9: the on-disk form of every record
(requests, trajectories, ratings, SFT examples, eval records).

Each record is one line written with a single `write` on a file opened in append mode,
then flushed to disk: a crash leaves every earlier record whole and at most a torn last
line, which readers skip and the next appender cuts off before it writes. A file written
whole (`write_records`) appears all at once or not at all.
"""

import os
import threading
from collections.abc import Iterable
from pathlib import Path
from typing import Self, TypeVar

from pydantic import BaseModel, ValidationError

from schemas.atomic import replacing
from schemas.errors import WaypointError, validation_problem

R = TypeVar("R", bound=BaseModel)


class RecordError(WaypointError):
    """A JSONL file is unreadable or holds a line that is not a valid record."""


def read_records(path: Path, model: type[R]) -> list[R]:
    """Every complete record in `path` (none if it does not exist); a torn last line, the
    trace of a write cut short, is skipped. A bad complete line is an error."""
    if not path.exists():
        return []
    try:
        data = path.read_bytes()
    except OSError as e:
        raise RecordError(f"cannot read {path}: {e.strerror}") from e
    complete = data[: data.rfind(b"\n") + 1]
    records = []
    for number, line in enumerate(complete.splitlines(), 1):
        if not line.strip():
            continue
        try:
            records.append(model.model_validate_json(line))
        except ValidationError as e:
            raise RecordError(f"{path}:{number}: {validation_problem(e, 'record')}") from e
    return records


def write_records(path: Path, records: Iterable[BaseModel]) -> None:
    """Replace `path` with `records`, all or nothing."""
    with replacing(path) as temporary, temporary.open("w", encoding="utf-8") as f:
        for record in records:
            f.write(record.model_dump_json() + "\n")
        f.flush()
        os.fsync(f.fileno())


def append_record(path: Path, record: BaseModel) -> None:
    """Append one record to `path` (a file that a writer has already repaired, see
    `cut_torn_tail`); for many records, keep an `Appender` open instead."""
    fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
    try:
        _write_line(fd, record, path)
    finally:
        os.close(fd)


class Appender:
    """Appends records to a JSONL file, one atomic line each; safe to share between threads."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._lock = threading.Lock()
        self._fd: int | None = None

    def __enter__(self) -> Self:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        cut_torn_tail(self.path)
        self._fd = os.open(self.path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
        return self

    def __exit__(self, *exc: object) -> None:
        if self._fd is not None:
            os.close(self._fd)
            self._fd = None

    def append(self, record: BaseModel) -> None:
        if self._fd is None:
            raise RuntimeError("use the Appender as a context manager")
        with self._lock:
            _write_line(self._fd, record, self.path)


def cut_torn_tail(path: Path) -> None:
    """Cut off a torn last line, so the next append starts on a line of its own."""
    if path.exists() and (data := path.read_bytes()) and not data.endswith(b"\n"):
        with path.open("r+b") as f:
            f.truncate(data.rfind(b"\n") + 1)


def _write_line(fd: int, record: BaseModel, path: Path) -> None:
    line = (record.model_dump_json() + "\n").encode()
    if os.write(fd, line) != len(line):  # a full disk; readers skip the torn line
        raise RecordError(f"could not write a whole record to {path}")
    os.fsync(fd)
