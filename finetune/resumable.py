"""Keyed work over many items that a rerun picks up where the last run stopped.

Items whose key already has a record in the output file are skipped; every new record is
appended atomically the moment it exists (`schemas.records`), so kill -9 loses at most the
items in flight and a rerun neither repeats nor misses one. Work runs on a thread pool
when `workers > 1` (HTTP backends spend their time waiting), else in this thread.
"""

import time
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from pathlib import Path
from typing import TypeVar

from pydantic import BaseModel

from schemas.errors import WaypointError
from schemas.progress import RunSummary, counted_progress
from schemas.records import Appender, read_records

T = TypeVar("T")
R = TypeVar("R", bound=BaseModel)


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
    counted as a failure (its item stays open for the next run), anything else stops the run."""
    if workers < 1:
        raise WaypointError(f"workers must be at least 1, got {workers}")
    done = {record_key(r) for r in read_records(out, record_model)}
    todo = [item for item in items if item_key(item) not in done]
    summary = RunSummary(total=len(items), skipped=len(items) - len(todo))
    started = time.perf_counter()
    with (
        Appender(out) as appender,
        counted_progress(label, len(items), completed=summary.skipped, show=show_progress) as bar,
    ):
        try:
            for outcome in _outcomes(todo, work, workers):
                if isinstance(outcome, WaypointError):
                    summary.failed += 1
                    summary.note(str(outcome))
                else:
                    appender.append(outcome)
                    summary.written += 1
                bar.advance()
        except KeyboardInterrupt:
            raise Interrupted(
                f"interrupted: {summary.skipped + summary.written} of {len(items)} {label} are "
                f"in {out}; run the same command again to continue"
            ) from None
    summary.seconds = time.perf_counter() - started
    return summary


def _outcomes(
    todo: Sequence[T], work: Callable[[T], R], workers: int
) -> Iterator[R | WaypointError]:
    if workers == 1:
        for item in todo:
            yield _attempt(work, item)
        return
    pool = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="simulate")
    pending: set[Future] = set()
    queue = iter(todo)
    try:
        # keep only a few items queued per worker, so Ctrl-C does not wait for thousands
        for item in queue:
            pending.add(pool.submit(_attempt, work, item))
            if len(pending) >= 2 * workers:
                break
        while pending:
            finished, pending = wait(pending, return_when=FIRST_COMPLETED)
            for future in finished:
                yield future.result()
                if (item := next(queue, None)) is not None:
                    pending.add(pool.submit(_attempt, work, item))
    finally:
        pool.shutdown(wait=False, cancel_futures=True)


def _attempt(work: Callable[[T], R], item: T) -> R | WaypointError:
    try:
        return work(item)
    except WaypointError as e:
        return e
