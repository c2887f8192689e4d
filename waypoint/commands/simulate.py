"""`waypoint simulate`: requests → trajectories → ratings → SFT dataset, in one folder."""

from pathlib import Path
from typing import TYPE_CHECKING, Annotated, cast

import typer
from rich.console import Console

from schemas.errors import WaypointError

if TYPE_CHECKING:
    from finetune.resumable import RunSummary
    from finetune.simulation import WorldName
    from models.chat_model import ChatModel

app = typer.Typer(
    help="""Simulate training data for the planner.

    The atlas world runs offline with gold answers; the llm world uses a teacher model.

      waypoint simulate requests --world atlas --seed 1 --count 1000 --out runs/sim

      waypoint simulate trajectories --world atlas --out runs/sim

      waypoint simulate judge --world atlas --out runs/sim

      waypoint simulate package --world atlas --out runs/sim
    """,
    no_args_is_help=True,
)
console = Console(stderr=True)

WorldOption = Annotated[str, typer.Option("--world", help="atlas (offline) or llm (teacher)")]
OutOption = Annotated[Path, typer.Option("--out", "-o", help="the simulation folder")]
TeacherOption = Annotated[
    str | None, typer.Option("--teacher", help="teacher model name or GGUF path (llm world)")
]
WorkersOption = Annotated[
    int, typer.Option("--workers", help="parallel runs; >1 only for a teacher behind HTTP")
]
SeedOption = Annotated[int, typer.Option("--seed", help="world / generation seed")]
DEFAULT_OUT = Path("runs/simulate")


def _world(name: str) -> "WorldName":
    if name not in ("atlas", "llm"):
        raise WaypointError(f"--world must be atlas or llm, not {name!r}")
    return cast("WorldName", name)


def _teacher(name: str | None, workers: int = 1) -> "ChatModel | None":
    if name is None:
        return None
    from models.openai_compat import OpenAIChatModel
    from models.registry import load_chat_model

    model = load_chat_model(name)
    if workers > 1 and not isinstance(model, OpenAIChatModel):
        raise WaypointError(
            "--workers > 1 needs a teacher behind HTTP; an in-process model runs one call at a time"
        )
    return model


def _report(summary: "RunSummary", what: str, path: Path) -> None:
    console.print(
        f"{what}: {summary.written} new, {summary.skipped} already there, "
        f"{summary.failed} failed, in {summary.seconds:.1f} s → {path}",
        highlight=False,
    )
    for failure in summary.failures:
        console.print(f"  failed: {failure}", highlight=False)


@app.command("requests")
def requests_command(
    world: WorldOption = "atlas",
    out: OutOption = DEFAULT_OUT,
    count: Annotated[int, typer.Option("--count", "-n", help="how many requests")] = 1000,
    seed: SeedOption = 0,
    phrasings: Annotated[
        str, typer.Option(help="atlas: train, heldout (unseen wordings, for evals) or all")
    ] = "train",
    teacher: TeacherOption = None,
    max_similarity: Annotated[
        float, typer.Option(help="llm: drop a request this close to a kept one (cosine)")
    ] = 0.9,
) -> None:
    """Write requests.jsonl: atlas templates over the world of SEED, or a teacher's.

    Examples:

      waypoint simulate requests --world atlas --seed 1 --count 1000 --out runs/sim

      waypoint simulate requests --world atlas --seed 2 --phrasings heldout -n 50 -o runs/test

      waypoint simulate requests --world llm --teacher my-teacher --count 200 --out runs/llm
    """
    from finetune.simulation import REQUESTS

    path = out / REQUESTS
    if _world(world) == "atlas":
        from finetune.jsonl import write_records
        from tools.atlas.requests import PhrasingSplit, atlas_requests
        from tools.atlas.world import build_world

        if phrasings not in ("train", "heldout", "all"):
            raise WaypointError(f"--phrasings must be train, heldout or all, not {phrasings!r}")
        try:
            made = atlas_requests(build_world(seed), count, cast("PhrasingSplit", phrasings))
        except ValueError as e:
            raise WaypointError(str(e)) from e
        write_records(path, made)
    else:
        from finetune.requests import generate_requests
        from finetune.simulation import require_teacher

        model = require_teacher("llm", _teacher(teacher))
        made = generate_requests(model, count, path, seed=seed, max_similarity=max_similarity)
    console.print(f"{len(made)} requests → {path}", highlight=False)


@app.command("trajectories")
def trajectories_command(
    world: WorldOption = "atlas",
    out: OutOption = DEFAULT_OUT,
    teacher: TeacherOption = None,
    workers: WorkersOption = 1,
    max_steps: Annotated[int, typer.Option(help="steps before a run counts as incomplete")] = 10,
    no_answer: Annotated[float, typer.Option(help="llm: chance a tool returns nothing")] = 0.1,
    partial: Annotated[float, typer.Option(help="llm: chance a tool answers in part")] = 0.1,
    seed: SeedOption = 0,
) -> None:
    """Run the world's agent on every request without a trajectory yet (resumable).

    Examples:

      waypoint simulate trajectories --world atlas --out runs/sim

      waypoint simulate trajectories --world llm --teacher my-teacher --workers 8 --out runs/llm
    """
    from finetune.simulation import REQUESTS, TRAJECTORIES, make_agent, read_requests
    from finetune.trajectories import generate_trajectories

    name = _world(world)
    requests = read_requests(out / REQUESTS, name)
    agent, meta = make_agent(
        name,
        requests,
        _teacher(teacher, workers),
        max_steps=max_steps,
        no_answer=no_answer,
        partial=partial,
        seed=seed,
    )
    path = out / TRAJECTORIES
    _report(
        generate_trajectories(requests, agent, path, meta, workers=workers), "trajectories", path
    )


@app.command("judge")
def judge_command(
    world: WorldOption = "atlas",
    out: OutOption = DEFAULT_OUT,
    teacher: TeacherOption = None,
    workers: WorkersOption = 1,
) -> None:
    """Rate every trajectory without a rating yet: atlas judge or LLM judge (resumable).

    Examples:

      waypoint simulate judge --world atlas --out runs/sim

      waypoint simulate judge --world llm --teacher my-teacher --workers 8 --out runs/llm
    """
    from finetune.jsonl import read_records
    from finetune.judging import judge_trajectories
    from finetune.simulation import RATINGS, REQUESTS, TRAJECTORIES, make_judge, read_requests
    from schemas.trajectory import Trajectory

    name = _world(world)
    requests = {r.id: r for r in read_requests(out / REQUESTS, name)}
    trajectories = read_records(out / TRAJECTORIES, Trajectory)
    if not trajectories:
        raise WaypointError(
            f"no trajectories in {out / TRAJECTORIES}: run 'waypoint simulate trajectories' first"
        )
    judge = make_judge(name, _teacher(teacher, workers))
    path = out / RATINGS
    _report(
        judge_trajectories(trajectories, requests, judge, path, workers=workers), "ratings", path
    )


@app.command("package")
def package_command(
    world: WorldOption = "atlas",
    out: OutOption = DEFAULT_OUT,
    min_rating: Annotated[
        int, typer.Option(help="keep trajectories whose answer is rated ≥ this")
    ] = 4,
    val_fraction: Annotated[float, typer.Option(help="share of requests for validation")] = 0.1,
    seed: Annotated[int, typer.Option(help="seed of the train/validation split")] = 0,
) -> None:
    """Build the SFT dataset (one example per step, split by request) and its stats.

    Examples:

      waypoint simulate package --world atlas --out runs/sim

      waypoint simulate package --world llm --out runs/llm --min-rating 5 --val-fraction 0.2
    """
    from finetune.jsonl import read_records
    from finetune.package import package_dataset, stats_table, write_dataset
    from finetune.simulation import DATASET, RATINGS, TRAJECTORIES, tool_names
    from schemas.rating import TrajectoryRating
    from schemas.trajectory import Trajectory

    trajectories = read_records(out / TRAJECTORIES, Trajectory)
    ratings = {r.request_id: r for r in read_records(out / RATINGS, TrajectoryRating)}
    dataset = package_dataset(
        trajectories,
        ratings,
        tool_names(_world(world)),
        min_rating=min_rating,
        val_fraction=val_fraction,
        seed=seed,
    )
    write_dataset(dataset, out / DATASET)
    Console().print(stats_table(dataset.stats))
    console.print(f"dataset → {out / DATASET}", highlight=False)
