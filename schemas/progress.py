"""Long work over counted items: the rich bar on stderr while it runs, and the summary it
returns. Simulation, evaluation and anything else resumable share both, so every long job
looks and reports the same way."""

from collections.abc import Iterator
from contextlib import contextmanager

from pydantic import BaseModel, Field
from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    TaskID,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
)

MAX_PROBLEMS_SHOWN = 5


class RunSummary(BaseModel):
    """What one call of a resumable job did; a rerun counts what earlier calls did as skipped."""

    total: int = Field(description="items the job asks for")
    skipped: int = Field(0, description="already done before this call")
    written: int = Field(0, description="records this call added")
    failed: int = Field(0, description="items of this call that failed")
    faults: int = Field(
        0, description="items cut short by a server's fault: no record, run again next time"
    )
    seconds: float = 0.0
    problems: list[str] = Field(default_factory=list, description="the first few reasons")

    def note(self, problem: str) -> None:
        if len(self.problems) < MAX_PROBLEMS_SHOWN:
            self.problems.append(problem)


class ProgressBar:
    """One bar: `advance` as items finish, `describe` what is being worked on."""

    def __init__(self, progress: Progress, task: TaskID) -> None:
        self._progress, self._task = progress, task

    def advance(self, count: int = 1) -> None:
        self._progress.advance(self._task, count)

    def describe(self, text: str) -> None:
        self._progress.update(self._task, description=text)


@contextmanager
def counted_progress(
    label: str, total: int, *, completed: int = 0, show: bool = True
) -> Iterator[ProgressBar]:
    """A bar of `total` items on stderr, `completed` of them done already; `show=False`
    (tests, a library caller) draws nothing."""
    progress = Progress(
        TextColumn("[bold]{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        TimeRemainingColumn(),
        console=Console(stderr=True),
        disable=not show,
    )
    task = progress.add_task(label, total=total, completed=completed)
    with progress:
        yield ProgressBar(progress, task)
