"""JSONL files of Pydantic records that survive kill -9.

Each record is one line written with a single `write` on a file opened in append mode,
then flushed to disk: a crash leaves every earlier record whole and at most a torn last
line, which readers skip and the next appender cuts off before it writes.
"""

import os
import threading
from collections.abc import Iterable
from pathlib import Path
from typing import Self, TypeVar

from pydantic import BaseModel, ValidationError

from schemas.errors import WaypointError

R = TypeVar("R", bound=BaseModel)


class RecordError(WaypointError):
    """A JSONL file is missing or holds a line that is not a valid record."""


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
            problem = e.errors()[0]
            where = ".".join(str(p) for p in problem["loc"]) or "record"
            raise RecordError(f"{path}:{number}: {where}: {problem['msg']}") from e
    return records


def write_records(path: Path, records: Iterable[BaseModel]) -> None:
    """Replace `path` with `records`, all or nothing (a temporary file, then a rename)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = path.with_name(f".{path.name}.tmp")
    with temporary.open("w", encoding="utf-8") as f:
        for record in records:
            f.write(record.model_dump_json() + "\n")
        f.flush()
        os.fsync(f.fileno())
    temporary.replace(path)


class Appender:
    """Appends records to a JSONL file, one atomic line each; safe to share between threads."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._lock = threading.Lock()
        self._fd: int | None = None

    def __enter__(self) -> Self:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        _cut_torn_tail(self.path)
        self._fd = os.open(self.path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
        return self

    def __exit__(self, *exc: object) -> None:
        if self._fd is not None:
            os.close(self._fd)
            self._fd = None

    def append(self, record: BaseModel) -> None:
        if self._fd is None:
            raise RuntimeError("use the Appender as a context manager")
        line = (record.model_dump_json() + "\n").encode()
        with self._lock:
            written = os.write(self._fd, line)
            if written != len(line):  # a full disk; the reader will skip the torn line
                raise RecordError(f"could not write a whole record to {self.path}")
            os.fsync(self._fd)


def _cut_torn_tail(path: Path) -> None:
    if not path.exists():
        return
    data = path.read_bytes()
    if data and not data.endswith(b"\n"):
        with path.open("r+b") as f:
            f.truncate(data.rfind(b"\n") + 1)
