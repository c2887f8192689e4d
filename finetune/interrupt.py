"""Ctrl-C during training: finish the optimizer step in flight, save a checkpoint, stop.

The first SIGINT only raises a flag, so no step is cut in half and the run can be resumed
exactly where it stopped; a second SIGINT gets Python's default behaviour (abort now).
"""

from transformers import TrainerCallback, TrainerControl, TrainerState, TrainingArguments

from schemas.interrupt import SigintWatch


class GracefulInterrupt(SigintWatch, TrainerCallback):
    def __init__(self) -> None:
        super().__init__(raise_now=False)

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
