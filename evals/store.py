"""The run folder of an evaluation: what was evaluated, and every trajectory and rating.

    RUN_DIR/eval.json           the request set, judge and settings all its records share
    RUN_DIR/requests.jsonl      the requests, resolved once: reports need neither world nor file
    RUN_DIR/trajectories.jsonl  one record per (planner, run, request), failed runs included
    RUN_DIR/ratings.jsonl       one record per judged trajectory

Planners and runs are not part of the folder's identity: a rerun may add planners or runs
over the same requests. Records are appended one line at a time with a single write and an
fsync, so a crash leaves at most a torn last line; readers skip it and the folder cuts it
off when it is opened for writing.
"""

from pathlib import Path

from pydantic import BaseModel, Field, ValidationError

from evals.errors import EvalError
from evals.request_sets import RequestSet, WorldKind, read_request_set
from planner.model_planner import MAX_PLAN_TOKENS
from schemas.atomic import write_atomic
from schemas.errors import validation_problem
from schemas.rating import TrajectoryRating
from schemas.records import append_record, cut_torn_tail, read_records, write_records
from schemas.trajectory import Trajectory

CONFIG, REQUESTS, TRAJECTORIES, RATINGS = (
    "eval.json", "requests.jsonl", "trajectories.jsonl", "ratings.jsonl",
)  # fmt: skip
Key = tuple[str, int, str]  # (planner, run, request id)


class EvalSettings(BaseModel):
    max_steps: int = Field(10, ge=1, description="steps before a run ends incomplete")
    seed: int = Field(0, description="run r of a planner samples with seed + r")
    temperature: float = Field(
        0.7, ge=0, description="model planners; at 0 every run repeats the first"
    )
    max_tokens: int = Field(MAX_PLAN_TOKENS, ge=1, description="per plan of a model planner")
    grounded: bool = Field(
        True, description="model planners snap unseen names to the run's (planner.grounding)"
    )
    tool_caller: str | None = Field(
        None,
        description="who writes the calls that the tools' rules cannot read: None (atlas: "
        "nobody; real tools: the bundled model), 'base' (the bundled model), or a GGUF LoRA "
        "of the bundled base (a trained tool caller, `waypoint finetune tool-caller`)",
    )


class EvalConfig(BaseModel):
    requests: str
    world: WorldKind
    judge: str
    simulator: str | None = Field(None, description="the model playing the tools (llm world)")
    settings: EvalSettings = Field(default_factory=EvalSettings)


class TrajectoryRecord(BaseModel):
    planner: str
    run: int
    trajectory: Trajectory

    @property
    def key(self) -> Key:
        return self.planner, self.run, self.trajectory.request_id


class RatingRecord(BaseModel):
    planner: str
    run: int
    rating: TrajectoryRating

    @property
    def key(self) -> Key:
        return self.planner, self.run, self.rating.request_id


class RunStore:
    def __init__(self, root: Path, config: EvalConfig) -> None:
        self.root, self.config = root, config

    @classmethod
    def open(cls, root: Path) -> "RunStore":
        """An existing run folder, for reading."""
        path = root / CONFIG
        if not path.is_file():
            raise EvalError(f"{root} is not an evaluation run folder (no {CONFIG})")
        try:
            return cls(root, EvalConfig.model_validate_json(path.read_text(encoding="utf-8")))
        except ValidationError as e:
            raise EvalError(f"{path}: {validation_problem(e)}") from e

    @classmethod
    def create_or_continue(
        cls, root: Path, config: EvalConfig, request_set: RequestSet
    ) -> "RunStore":
        """A new run folder, or the one a previous run left with the same configuration."""
        if (root / CONFIG).is_file():
            store = cls.open(root)
            if store.config != config:
                changed = _differences(store.config, config)
                raise EvalError(f"{root} holds another evaluation ({changed}); use another --out")
        else:
            store = cls(root, config)
            root.mkdir(parents=True, exist_ok=True)
            write_records(root / REQUESTS, request_set.requests)
            write_atomic(root / CONFIG, config.model_dump_json(indent=2))  # last: marks it complete
        for name in (TRAJECTORIES, RATINGS):
            cut_torn_tail(root / name)
        return store

    def request_set(self) -> RequestSet:
        return read_request_set(self.root / REQUESTS, self.config.requests)

    def trajectories(self) -> list[TrajectoryRecord]:
        return read_records(self.root / TRAJECTORIES, TrajectoryRecord)

    def ratings(self) -> list[RatingRecord]:
        return read_records(self.root / RATINGS, RatingRecord)

    def add_trajectory(self, record: TrajectoryRecord) -> None:
        append_record(self.root / TRAJECTORIES, record)

    def add_rating(self, record: RatingRecord) -> None:
        append_record(self.root / RATINGS, record)


def _differences(old: EvalConfig, new: EvalConfig) -> str:
    before, after = old.model_dump(), new.model_dump()
    before |= before.pop("settings")
    after |= after.pop("settings")
    return ", ".join(
        f"{k}: {before[k]} there, {after[k]} now" for k in after if before[k] != after[k]
    )
