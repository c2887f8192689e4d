"""Shipping a pipeline's planner: its LoRA adapter (GGUF), the exact settings that made it
and a fingerprint of the dataset it learned from, in one folder of `models/planners/`.

    models/planners/NAME/adapter.gguf    what llama.cpp applies to the base
    models/planners/NAME/examples.jsonl  the worked examples it is shown, if it was trained so
    models/planners/NAME/pipeline.toml   `waypoint pipeline --config` reproduces it
    models/planners/NAME/manifest.json   base, sizes, hashes, dataset, targets measured

The dataset is deterministic (a seeded world and a scripted expert), so its fingerprint can be
checked anywhere by running the simulation stages of the same settings again, in seconds.
"""

import hashlib
import shutil
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

import tomli_w
from pydantic import BaseModel, Field

from schemas.atomic import write_atomic
from schemas.errors import WaypointError
from waypoint.pipeline_report import Target

if TYPE_CHECKING:
    from waypoint.pipeline import PipelineState

ADAPTER, CONFIG, MANIFEST = "adapter.gguf", "pipeline.toml", "manifest.json"


class ShippedPlanner(BaseModel):
    base: str
    adapter_sha256: str
    adapter_bytes: int
    dataset_sha256: str
    dataset: dict[str, Any]
    evaluation: dict[str, Any]
    targets: list[Target] = Field(description="the pipeline report's targets, as measured")
    stage_seconds: dict[str, float]
    made: datetime


def dataset_fingerprint(dataset: Path) -> str:
    """sha256 of the SFT files a run trained and validated on (train, then validation)."""
    from finetune.package import TRAIN, VALIDATION

    digest = hashlib.sha256()
    for name in (TRAIN, VALIDATION):
        digest.update((dataset / name).read_bytes())
    return digest.hexdigest()


def ship(state: "PipelineState", out: Path, folder: Path) -> ShippedPlanner:
    """Copy the finished pipeline in `out` into `folder` as a shipped planner."""
    from finetune.package import EXAMPLES
    from finetune.simulation import DATASET
    from waypoint.pipeline import SIM

    adapter = state.stages.get("adapter")
    if adapter is None or "path" not in adapter.result:
        raise WaypointError(f"{out} has no GGUF adapter to ship: its base is not a GGUF file")
    if "report" not in state.stages:
        raise WaypointError(f"the pipeline in {out} has not finished: nothing to ship yet")
    source = Path(adapter.result["path"])
    folder.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(source, folder / ADAPTER)
    (folder / EXAMPLES).unlink(missing_ok=True)
    if state.config.worked_examples:
        shutil.copyfile(out / SIM / DATASET / EXAMPLES, folder / EXAMPLES)
    config = state.config.model_dump(mode="json", exclude_none=True)
    write_atomic(folder / CONFIG, tomli_w.dumps(config))
    manifest = ShippedPlanner(
        base=state.config.base,
        adapter_sha256=hashlib.sha256(source.read_bytes()).hexdigest(),
        adapter_bytes=source.stat().st_size,
        dataset_sha256=dataset_fingerprint(out / SIM / DATASET),
        dataset=state.stages["package"].result,
        evaluation=state.stages["evaluate"].result,
        targets=state.stages["report"].result.get("targets", []),  # older runs have none
        stage_seconds={name: round(r.seconds, 1) for name, r in state.stages.items()},
        made=datetime.now(UTC),
    )
    write_atomic(folder / MANIFEST, manifest.model_dump_json(indent=2) + "\n")
    return manifest
