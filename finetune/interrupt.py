"""Ctrl-C during training: finish the optimizer step in flight, save a checkpoint, stop.

The first SIGINT only raises a flag, so no step is cut in half and the run can be resumed
exactly where it stopped; a second SIGINT gets Python's default behaviour (abort now).
"""

import signal
import threading
from types import FrameType

from transformers import TrainerCallback, TrainerControl, TrainerState, TrainingArguments


class GracefulInterrupt(TrainerCallback):
    def __init__(self) -> None:
        self.requested = False
        self._installed = False
        self._previous: object = signal.default_int_handler

    def __enter__(self) -> "GracefulInterrupt":
        # Signal handlers can only be set from the main thread; elsewhere Ctrl-C cannot reach us.
        if threading.current_thread() is threading.main_thread():
            previous = signal.signal(signal.SIGINT, self._on_sigint)
            # None: the handler was not set from Python; restoring the default is closest.
            self._previous = signal.SIG_DFL if previous is None else previous
            self._installed = True
        return self

    def __exit__(self, *exc: object) -> None:
        if self._installed:
            signal.signal(signal.SIGINT, self._previous)
            self._installed = False

    def _on_sigint(self, signum: int, frame: FrameType | None) -> None:
        self.requested = True
        signal.signal(signal.SIGINT, signal.default_int_handler)

    def stopped_early(self, state: TrainerState) -> bool:
        return self.requested and state.global_step < state.max_steps

    def on_step_end(
        self, args: TrainingArguments, state: TrainerState, control: TrainerControl, **kwargs
    ) -> None:
        if self.requested:
            control.should_save = True
            control.should_training_stop = True

    def on_epoch_end(
        self, args: TrainingArguments, state: TrainerState, control: TrainerControl, **kwargs
    ) -> None:
        if self.requested:  # the checkpoint is written already; leave without evaluating
            control.should_evaluate = False
            control.should_save = False
