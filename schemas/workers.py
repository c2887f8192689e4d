"""Work over many items on a few threads, results as they finish: what simulation and
evaluation do when their models sit behind HTTP and spend their time waiting.

A WaypointError of one item is that item's outcome (the caller counts it); anything else
is a bug and stops the run. Only a few items are queued per worker, so Ctrl-C does not wait
for thousands; the caller's thread is the only one that sees results, so it alone writes.
"""

from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from typing import TypeVar

from schemas.errors import WaypointError

T = TypeVar("T")
R = TypeVar("R")


def as_finished(
    items: Sequence[T], work: Callable[[T], R], workers: int, *, name: str = "worker"
) -> Iterator[tuple[T, R | WaypointError]]:
    """(item, result or its WaypointError), in the order they finish; `workers == 1` runs
    everything in the caller's thread, in order."""
    if workers < 1:
        raise WaypointError(f"workers must be at least 1, got {workers}")
    if workers == 1:
        for item in items:
            yield item, _attempt(work, item)
        return
    pool = ThreadPoolExecutor(max_workers=workers, thread_name_prefix=name)
    pending: dict[Future, T] = {}
    queue = iter(items)

    def submit() -> None:
        for item in queue:
            pending[pool.submit(_attempt, work, item)] = item
            return

    try:
        for _ in range(2 * workers):
            submit()
        while pending:
            finished, _ = wait(pending, return_when=FIRST_COMPLETED)
            for future in finished:
                yield pending.pop(future), future.result()
                submit()
    finally:
        pool.shutdown(wait=False, cancel_futures=True)


def _attempt(work: Callable[[T], R], item: T) -> R | WaypointError:
    try:
        return work(item)
    except WaypointError as e:
        return e
