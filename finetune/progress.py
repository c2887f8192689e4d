"""A rich progress bar for training: step, loss, validation loss and training tokens/s.

Tokens/s counts the non-padding tokens of the batches trained on, over the time spent in
optimizer steps only (evaluation and checkpoint saving are left out), so it is the figure
a benchmark compares. The CPU time of those steps (all threads of this process) is kept
beside it: on a shared machine, wall time says as much about the neighbours as about us.
"""

import time

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from transformers import TrainerCallback, TrainerControl, TrainerState, TrainingArguments


class TrainingProgress(TrainerCallback):
    def __init__(self, console: Console) -> None:
        self.console = console
        self.train_seconds = 0.0
        self.train_cpu_seconds = 0.0
        self.tokens = 0
        self._progress: Progress | None = None
        self._task = 0
        self._step_started = self._cpu_started = 0.0
        self._tokens_at_start = 0

    @property
    def tokens_per_second(self) -> float:
        return self.tokens / self.train_seconds if self.train_seconds else 0.0

    def on_train_begin(
        self, args: TrainingArguments, state: TrainerState, control: TrainerControl, **kwargs
    ) -> None:
        if not state.is_world_process_zero:
            return
        self._tokens_at_start = state.num_input_tokens_seen
        self._progress = Progress(
            TextColumn("[bold]{task.description}"),
            BarColumn(),
            MofNCompleteColumn(),
            TextColumn("loss {task.fields[loss]}  val {task.fields[val]}  {task.fields[speed]}"),
            TimeElapsedColumn(),
            console=self.console,
        )
        self._task = self._progress.add_task(
            "train", total=state.max_steps, completed=state.global_step, loss="–", val="–", speed=""
        )
        self._progress.start()

    def on_step_begin(
        self, args: TrainingArguments, state: TrainerState, control: TrainerControl, **kwargs
    ) -> None:
        self._step_started = time.perf_counter()
        self._cpu_started = time.process_time()

    def on_step_end(
        self, args: TrainingArguments, state: TrainerState, control: TrainerControl, **kwargs
    ) -> None:
        self.train_seconds += time.perf_counter() - self._step_started
        self.train_cpu_seconds += time.process_time() - self._cpu_started
        self.tokens = state.num_input_tokens_seen - self._tokens_at_start
        self._update(
            completed=state.global_step,
            description=f"epoch {state.epoch:.2f}",
            speed=f"{self.tokens_per_second:.0f} tok/s",
        )

    def on_log(
        self,
        args: TrainingArguments,
        state: TrainerState,
        control: TrainerControl,
        logs: dict[str, float] | None = None,
        **kwargs,
    ) -> None:
        if not logs or "loss" not in logs:
            return
        self._update(loss=f"{logs['loss']:.4f}")
        if self._progress is not None and not self.console.is_terminal:
            # A log file gets no live bar: one line per logging step instead.
            self._line(
                f"step {state.global_step}/{state.max_steps}  loss {logs['loss']:.4f}  "
                f"{self.tokens_per_second:.0f} tok/s"
            )

    def on_evaluate(
        self,
        args: TrainingArguments,
        state: TrainerState,
        control: TrainerControl,
        metrics: dict[str, float] | None = None,
        **kwargs,
    ) -> None:
        if not metrics or "eval_loss" not in metrics:
            return
        self._update(val=f"{metrics['eval_loss']:.4f}")
        self._line(
            f"epoch {state.epoch or 0:.2f}  step {state.global_step}  "
            f"validation loss {metrics['eval_loss']:.4f}"
        )

    def on_train_end(
        self, args: TrainingArguments, state: TrainerState, control: TrainerControl, **kwargs
    ) -> None:
        if self._progress is not None:
            self._progress.stop()
            self._progress = None

    def _line(self, text: str) -> None:
        if self._progress is not None:
            self._progress.console.print(text, highlight=False, soft_wrap=True)

    def _update(self, **fields: object) -> None:
        if self._progress is not None:
            self._progress.update(self._task, **fields)
