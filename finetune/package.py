"""The SFT dataset: one example per well-rated trajectory, split by request.

An example is the fine-tuned planner's conversation for the whole trajectory
(`planner.prompts.fine_tuned_messages`): every plan in the canonical JSON of the tool set's
Plan class, the text the plan grammar makes the model write, each followed by its result.
Training learns every plan of it from one sequence. With worked examples, each prompt also
shows the nearest solved request of another wording (`planner.examples`), drawn from the
training split, which ships beside the planner as its bank.
"""

from collections import Counter
from collections.abc import Mapping, Sequence
from pathlib import Path

from pydantic import BaseModel, Field, ValidationError
from rich.table import Table

from finetune.sft_data import split_by_request
from planner.examples import ExampleBank
from planner.prompts import fine_tuned_messages, plan_text
from schemas.chat import assistant
from schemas.dataset import SFTExample
from schemas.errors import WaypointError, validation_problem
from schemas.examples import ExampleStep, WorkedExample
from schemas.plan import PlanRecord, plan_model
from schemas.rating import TrajectoryRating
from schemas.records import write_records
from schemas.trajectory import Scratchpad, Trajectory

TRAIN, VALIDATION, STATS = "train.jsonl", "validation.jsonl", "stats.json"
EXAMPLES = "examples.jsonl"  # the worked examples a planner trained with them is shown


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
    examples: list[WorkedExample] = Field(default_factory=list, description="the bank, if any")


def trajectory_example(
    trajectory: Trajectory, plan_class: type[PlanRecord], example: WorkedExample | None = None
) -> SFTExample:
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
    messages = fine_tuned_messages(
        trajectory.request, Scratchpad(steps=before), trajectory.history, example
    )
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
    phrasings: Mapping[str, str | None] | None = None,
) -> Dataset:
    """Keep answered trajectories whose answer is rated ≥ `min_rating`; `val_fraction` of
    their requests (chosen by a seeded hash of the id) form the validation split. Given
    `phrasings` (request id → wording), every prompt shows a worked example."""
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
    bank: list[WorkedExample] = []
    if phrasings is not None:
        bank, train, validation = _with_examples(kept, train, validation, plan_class, phrasings)
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
    return Dataset(train=train, validation=validation, stats=stats, examples=bank)


def worked_example(trajectory: Trajectory, phrasing: str | None) -> WorkedExample:
    steps = [ExampleStep(tool=s.plan.tool, task=s.plan.task) for s in trajectory.steps]
    return WorkedExample(request=trajectory.request, phrasing=phrasing, steps=steps)


def _with_examples(
    kept: Sequence[Trajectory],
    train: Sequence[SFTExample],
    validation: Sequence[SFTExample],
    plan_class: type[PlanRecord],
    phrasings: Mapping[str, str | None],
) -> tuple[list[WorkedExample], list[SFTExample], list[SFTExample]]:
    """The bank (the training split's trajectories) and both splits again, each prompt with
    its nearest example of another request and, where wordings are known, another wording."""
    by_id = {t.request_id: t for t in kept}
    in_train = {e.request_id for e in train}
    bank = ExampleBank(
        [worked_example(t, phrasings.get(t.request_id)) for t in kept if t.request_id in in_train]
    )

    def shown(examples: Sequence[SFTExample]) -> list[SFTExample]:
        trajectories = [by_id[e.request_id] for e in examples]

        def allowed(i: int, candidate: WorkedExample) -> bool:
            phrasing = phrasings.get(trajectories[i].request_id)
            other_wording = phrasing is None or candidate.phrasing != phrasing
            return candidate.request != trajectories[i].request and other_wording

        nearest = bank.nearest_each([t.request for t in trajectories], allowed)
        return [
            trajectory_example(t, plan_class, n) for t, n in zip(trajectories, nearest, strict=True)
        ]

    return bank.examples, shown(train), shown(validation)


def write_dataset(dataset: Dataset, out: Path) -> None:
    """train.jsonl, validation.jsonl and stats.json in `out`, each replaced whole."""
    write_records(out / TRAIN, dataset.train)
    write_records(out / VALIDATION, dataset.validation)
    if dataset.examples:
        write_records(out / EXAMPLES, dataset.examples)
    else:
        (out / EXAMPLES).unlink(missing_ok=True)  # a bank from an earlier run would mislead
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
