"""A curriculum: ordered training stages from one config, each on the adapter of the one
before (seed 002, SMART: short trajectories first, then long ones; seed 000: SFT, then
preference).

```toml
out = "runs/curriculum"
[sft]                       # settings of every sft stage (finetune.config.TrainConfig)
dataset = "runs/sim/dataset"
learning_rate = 1e-3
[[stages]]
name = "short"
max_plans = 2               # trajectories of at most two plans
[[stages]]
name = "long"
min_plans = 3
```

Stage N runs in `OUT/N-NAME/`, a training run folder of its own. `curriculum.json` records
the finished stages; a rerun skips them and resumes the unfinished one from its last
checkpoint, so a curriculum is resumable across stages as one run is across steps.
"""

import json
import re
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator
from rich.console import Console

from finetune.config import TrainConfig
from finetune.preference import PreferenceConfig, train_preference
from finetune.sft_data import DatasetError, read_examples
from finetune.train import ADAPTER_DIR, RunFolderError, train
from models.bundled import BUNDLED_NAME
from schemas.atomic import write_atomic
from schemas.dataset import SFTExample
from schemas.records import write_records
from schemas.settings import load_settings

STATE_FILE = "curriculum.json"
STAGE_DATA = "train.jsonl"  # an sft stage's share of the examples, in its folder
RESULT = "result.json"  # written by a stage's training when it ends
_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9_-]*")


class CurriculumStage(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: str = Field(description="names the stage's folder: letters, digits, - and _")
    kind: Literal["sft", "preference"] = "sft"
    min_plans: int | None = Field(None, ge=1, description="sft: trajectories with ≥ this many")
    max_plans: int | None = Field(None, ge=1, description="sft: trajectories with ≤ this many")
    settings: dict[str, Any] = Field(default_factory=dict, description="this stage's own")

    @model_validator(mode="after")
    def _sensible(self) -> "CurriculumStage":
        if not _NAME.fullmatch(self.name):
            raise ValueError(f"stage name {self.name!r}: letters, digits, - and _ only")
        if self.kind == "preference" and (self.min_plans or self.max_plans):
            raise ValueError(f"stage {self.name}: plan counts select sft examples only")
        return self

    def keeps(self, example: SFTExample) -> bool:
        plans = sum(m.role == "assistant" for m in example.messages)
        return (self.min_plans or 0) <= plans <= (self.max_plans or plans)


class CurriculumConfig(BaseModel):
    model_config = ConfigDict(extra="forbid")

    out: Path
    base: str = BUNDLED_NAME
    adapter: Path | None = Field(None, description="the first stage trains on this adapter")
    sft: dict[str, Any] = Field(default_factory=dict, description="every sft stage's settings")
    preference: dict[str, Any] = Field(default_factory=dict, description="every preference one")
    stages: list[CurriculumStage] = Field(min_length=1)

    @model_validator(mode="after")
    def _distinct(self) -> "CurriculumConfig":
        names = [s.name for s in self.stages]
        if len(set(names)) != len(names):
            raise ValueError(f"stage names repeat: {names}")
        return self


class StageRecord(BaseModel):
    name: str
    adapter: Path
    result: dict[str, Any]


class CurriculumState(BaseModel):
    config: CurriculumConfig
    finished: list[StageRecord] = Field(default_factory=list)


def load_curriculum(path: Path, overrides: dict[str, Any]) -> CurriculumConfig:
    return load_settings(CurriculumConfig, path, overrides, "curriculum")


def run_curriculum(config: CurriculumConfig, console: Console | None = None) -> CurriculumState:
    """Every stage not finished yet, in order; returns the state with each stage's result."""
    console = console or Console(stderr=True)
    state = _load_state(config)
    adapter = state.finished[-1].adapter if state.finished else config.adapter
    for number, stage in enumerate(config.stages, 1):
        if number <= len(state.finished):
            console.print(f"[dim]✓ stage {number} {stage.name} (done before)[/]")
            continue
        console.rule(f"[bold]stage {number}/{len(config.stages)}: {stage.name} ({stage.kind})")
        folder = config.out / f"{number}-{stage.name}"
        if (folder / RESULT).is_file() and (folder / ADAPTER_DIR).is_dir():
            result = json.loads((folder / RESULT).read_text())  # finished, not yet recorded
            result.pop("losses", None)
        else:
            resume = any(folder.glob("checkpoint-*/trainer_state.json"))
            result = _run_stage(config, stage, folder, adapter, resume, console)
        adapter = folder / ADAPTER_DIR
        state.finished.append(StageRecord(name=stage.name, adapter=adapter, result=result))
        write_atomic(config.out / STATE_FILE, state.model_dump_json(indent=2))
    return state


def _load_state(config: CurriculumConfig) -> CurriculumState:
    path = config.out / STATE_FILE
    if not path.is_file():
        config.out.mkdir(parents=True, exist_ok=True)
        state = CurriculumState(config=config)
        write_atomic(path, state.model_dump_json(indent=2))
        return state
    state = CurriculumState.model_validate_json(path.read_text())
    if state.config != config:
        raise RunFolderError(
            f"{config.out} holds a curriculum with other settings; use another out folder "
            "or the same config to continue it"
        )
    return state


def _run_stage(
    config: CurriculumConfig,
    stage: CurriculumStage,
    folder: Path,
    adapter: Path | None,
    resume: bool,
    console: Console,
) -> dict[str, Any]:
    shared = {"out": folder, "base": config.base, "adapter": adapter}
    if stage.kind == "preference":
        settings = {**config.preference, **stage.settings, **shared}
        preference = load_settings(PreferenceConfig, None, settings, f"stage {stage.name}")
        result = train_preference(preference, resume=resume, console=console)
        return result.model_dump(mode="json", exclude={"losses"})
    settings = {**config.sft, **stage.settings, **shared}
    sft = load_settings(TrainConfig, None, settings, f"stage {stage.name}")
    if stage.min_plans or stage.max_plans:
        sft = _stage_share(sft, stage, folder)
    result = train(sft, resume=resume, console=console)
    return result.model_dump(mode="json", exclude={"losses"})


def _stage_share(config: TrainConfig, stage: CurriculumStage, folder: Path) -> TrainConfig:
    """The stage's examples written into its folder; validation stays the whole split (or
    the stage's own split of its share when the dataset has none), so stages compare."""
    from finetune.package import TRAIN, VALIDATION

    dataset, validation = config.dataset, config.eval_dataset
    if dataset.is_dir():
        if validation is None and (dataset / VALIDATION).is_file():
            validation = dataset / VALIDATION
        dataset = dataset / TRAIN
    kept = [e for e in read_examples(dataset) if stage.keeps(e)]
    if not kept:
        bounds = f"{stage.min_plans or 1}–{stage.max_plans or '∞'}"
        raise DatasetError(f"stage {stage.name}: no example in {dataset} has {bounds} plans")
    folder.mkdir(parents=True, exist_ok=True)
    write_records(folder / STAGE_DATA, kept)
    return config.model_copy(update={"dataset": folder / STAGE_DATA, "eval_dataset": validation})
