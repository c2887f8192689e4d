"""The SFT dataset: one example per well-rated trajectory, split by request.

An example is the fine-tuned planner's conversation for the whole trajectory
(`planner.prompts.fine_tuned_messages`): every plan in the canonical JSON of the tool set's
Plan class, the text the plan grammar makes the model write, each followed by its result.
Training learns every plan of it from one sequence.
"""

from collections import Counter
from collections.abc import Mapping, Sequence
from pathlib import Path

from pydantic import BaseModel, Field, ValidationError
from rich.table import Table

from finetune.sft_data import split_by_request
from planner.prompts import fine_tuned_messages, plan_text
from schemas.chat import assistant
from schemas.dataset import SFTExample
from schemas.errors import WaypointError, validation_problem
from schemas.plan import PlanRecord, plan_model
from schemas.rating import TrajectoryRating
from schemas.records import write_records
from schemas.trajectory import Scratchpad, Trajectory

TRAIN, VALIDATION, STATS = "train.jsonl", "validation.jsonl", "stats.json"


class DatasetStats(BaseModel):
    trajectories: int = Field(description="trajectories given")
    rated: int
    kept: int = Field(description="answered, with an answer rated at least min_rating")
    min_rating: int
    steps: int = Field(description="plans to learn: the steps of the kept trajectories")
    train_requests: int
    train_examples: int
    validation_requests: int
    validation_examples: int
    tools: dict[str, int] = Field(description="kept steps per tool")
    answer_ratings: dict[int, int] = Field(description="rated trajectories per answer score")


class Dataset(BaseModel):
    train: list[SFTExample]
    validation: list[SFTExample]
    stats: DatasetStats


def trajectory_example(trajectory: Trajectory, plan_class: type[PlanRecord]) -> SFTExample:
    """The conversation of a trajectory, up to and including its last plan."""
    for number, step in enumerate(trajectory.steps, 1):
        try:
            plan_class.model_validate(step.plan.model_dump())
        except ValidationError as e:
            raise WaypointError(
                f"request {trajectory.request_id}, step {number}: the plan does not fit "
                f"this tool set: {validation_problem(e)}"
            ) from e
    *before, last = trajectory.steps
    messages = fine_tuned_messages(trajectory.request, Scratchpad(steps=before), trajectory.history)
    return SFTExample(
        request_id=trajectory.request_id, messages=[*messages, assistant(plan_text(last.plan))]
    )


def package_dataset(
    trajectories: Sequence[Trajectory],
    ratings: Mapping[str, TrajectoryRating],
    tool_names: Sequence[str],
    *,
    min_rating: int = 4,
    val_fraction: float = 0.1,
    seed: int = 0,
) -> Dataset:
    """Keep answered trajectories whose answer is rated ≥ `min_rating`; `val_fraction` of
    their requests (chosen by a seeded hash of the id) form the validation split."""
    if not 0 <= val_fraction < 1:
        raise WaypointError(f"val_fraction must be in [0, 1), got {val_fraction}")
    plan_class = plan_model(tool_names)
    rated = [t for t in trajectories if t.request_id in ratings]
    kept = [
        t
        for t in rated
        if t.status == "answered" and ratings[t.request_id].answer.score >= min_rating
    ]
    examples = [trajectory_example(t, plan_class) for t in kept if t.steps]
    if not examples:
        raise WaypointError(
            f"no trajectory is answered and rated ≥ {min_rating}: nothing to train on"
        )
    train, validation = (
        split_by_request(examples, val_fraction, seed) if val_fraction > 0 else (examples, [])
    )
    stats = DatasetStats(
        trajectories=len(trajectories),
        rated=len(rated),
        kept=len(kept),
        min_rating=min_rating,
        steps=sum(len(t.steps) for t in kept),
        train_requests=len({e.request_id for e in train}),
        train_examples=len(train),
        validation_requests=len({e.request_id for e in validation}),
        validation_examples=len(validation),
        tools=dict(Counter(s.plan.tool for t in kept for s in t.steps).most_common()),
        answer_ratings=dict(
            sorted(Counter(ratings[t.request_id].answer.score for t in rated).items())
        ),
    )
    return Dataset(train=train, validation=validation, stats=stats)


def write_dataset(dataset: Dataset, out: Path) -> None:
    """train.jsonl, validation.jsonl and stats.json in `out`, each replaced whole."""
    write_records(out / TRAIN, dataset.train)
    write_records(out / VALIDATION, dataset.validation)
    (out / STATS).write_text(dataset.stats.model_dump_json(indent=2) + "\n")


def stats_table(stats: DatasetStats) -> Table:
    table = Table(title="SFT dataset", show_header=False)
    table.add_column(style="bold")
    table.add_column(justify="right")
    table.add_row("trajectories (rated)", f"{stats.trajectories} ({stats.rated})")
    table.add_row(f"kept (answer ≥ {stats.min_rating})", str(stats.kept))
    table.add_row("plans (steps)", str(stats.steps))
    table.add_row("train: requests / examples", f"{stats.train_requests} / {stats.train_examples}")
    table.add_row(
        "validation: requests / examples",
        f"{stats.validation_requests} / {stats.validation_examples}",
    )
    for tool, count in stats.tools.items():
        table.add_row(f"  tool {tool}", str(count))
    for score, count in stats.answer_ratings.items():
        table.add_row(f"  answer rated {score}", str(count))
    return table
