"""Keyed work over many items that a rerun picks up where the last run stopped.

Items whose key already has a record in the output file are skipped; every new record is
appended atomically the moment it exists (`schemas.records`), so kill -9 loses at most the
items in flight and a rerun neither repeats nor misses one. Work runs on a thread pool
when `workers > 1` (HTTP backends spend their time waiting), else in this thread.

An item whose work raises a WaypointError gets no record, so the next run tries it again:
a server's fault (`ServerFault`: unreachable, 429, 5xx, a timeout, after the client's
retries) is counted apart from other failures, and each one is logged with its key.
"""

import logging
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TypeVar

from pydantic import BaseModel

from models.chat_model import ServerFault
from schemas.errors import WaypointError
from schemas.interrupt import SigintWatch
from schemas.progress import RunSummary, counted_progress
from schemas.records import Appender, read_records
from schemas.workers import as_finished

T = TypeVar("T")
R = TypeVar("R", bound=BaseModel)

log = logging.getLogger(__name__)


class Interrupted(WaypointError):
    """Ctrl-C: the records written so far are kept; the same command continues the run."""

    exit_code = 130


def run_resumable(
    items: Sequence[T],
    item_key: Callable[[T], str],
    work: Callable[[T], R],
    out: Path,
    record_model: type[R],
    record_key: Callable[[R], str],
    *,
    workers: int = 1,
    label: str = "records",
    show_progress: bool = True,
) -> RunSummary:
    """Run `work` on every item without a record in `out`; a WaypointError from one item is
    counted as a failure or a fault (its item stays open for the next run), anything else
    stops the run."""
    if workers < 1:
        raise WaypointError(f"workers must be at least 1, got {workers}")
    done = {record_key(r) for r in read_records(out, record_model)}
    todo = [item for item in items if item_key(item) not in done]
    summary = RunSummary(total=len(items), skipped=len(items) - len(todo))
    started = time.perf_counter()
    with (
        Appender(out) as appender,
        counted_progress(label, len(items), completed=summary.skipped, show=show_progress) as bar,
        SigintWatch() as interrupt,
    ):
        try:
            for item, outcome in as_finished(todo, work, workers, name=label):
                if isinstance(outcome, WaypointError):
                    fault = isinstance(outcome, ServerFault)
                    summary.faults += fault
                    summary.failed += not fault
                    summary.note(str(outcome))
                    log.info("%s %s, no record: %s", label, item_key(item), outcome)
                else:
                    appender.append(outcome)
                    summary.written += 1
                bar.advance()
                interrupt.check()  # a Ctrl-C that a finalizer swallowed still stops the run
        except KeyboardInterrupt:
            raise Interrupted(
                f"interrupted: {summary.skipped + summary.written} of {len(items)} {label} are "
                f"in {out}; run the same command again to continue"
            ) from None
    summary.seconds = time.perf_counter() - started
    return summary
