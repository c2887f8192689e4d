"""`waypoint simulate`: requests → trajectories → ratings → SFT dataset, in one folder."""

from pathlib import Path
from typing import TYPE_CHECKING, Annotated, cast

import typer
from rich.console import Console

from schemas.errors import WaypointError
from waypoint.commands.gpu import GpuLayers, announce_model, gpu_layers
from waypoint.logs import run_log

if TYPE_CHECKING:
    from finetune.resumable import RunSummary
    from finetune.simulation import WorldName
    from models.chat_model import ChatModel
    from tools.atlas.requests import PhrasingSplit

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
    int, typer.Option("--workers", min=1, help="parallel runs; >1 only for a teacher behind HTTP")
]
SeedOption = Annotated[int, typer.Option("--seed", help="world / generation seed")]
DEFAULT_OUT = Path("runs/simulate")


def _world(name: str) -> "WorldName":
    if name not in ("atlas", "llm"):
        raise WaypointError(f"--world must be atlas or llm, not {name!r}")
    return cast("WorldName", name)


def _teacher(name: str | None, workers: int = 1, gpu: int | None = None) -> "ChatModel | None":
    if name is None:
        return None
    from models.openai_compat import OpenAIChatModel
    from models.registry import load_chat_model

    model = load_chat_model(name, gpu_layers=gpu_layers(gpu))
    if workers > 1 and not isinstance(model, OpenAIChatModel):
        raise WaypointError(
            "--workers > 1 needs a teacher behind HTTP; an in-process model runs one call at a time"
        )
    model.check()
    announce_model(model)
    return model


def _report(summary: "RunSummary", what: str, path: Path) -> None:
    console.print(
        f"{what}: {summary.written} new, {summary.skipped} already there, "
        f"{summary.failed} failed, {summary.faults} cut short by a server fault, "
        f"in {summary.seconds:.1f} s → {path}",
        highlight=False,
    )
    for failure in summary.problems:
        console.print(f"  failed: {failure}", highlight=False)
    if summary.failed or summary.faults:
        console.print("  no record was written for these: run the same command to retry them")


@app.command("requests")
def requests_command(
    world: WorldOption = "atlas",
    out: OutOption = DEFAULT_OUT,
    count: Annotated[int, typer.Option("--count", "-n", min=1, help="how many requests")] = 1000,
    seed: SeedOption = 0,
    phrasings: Annotated[
        str, typer.Option(help="atlas: train, heldout (unseen wordings, for evals) or all")
    ] = "train",
    teacher: TeacherOption = None,
    gpu: GpuLayers = None,
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
    from finetune.simulation import REQUESTS, simulate_requests

    if phrasings not in ("train", "heldout", "all"):
        raise WaypointError(f"--phrasings must be train, heldout or all, not {phrasings!r}")
    chosen = _world(world)
    with run_log(out):
        made = simulate_requests(
            chosen,
            out,
            count,
            seed=seed,
            phrasings=cast("PhrasingSplit", phrasings),
            teacher=_teacher(teacher, gpu=gpu),
            max_similarity=max_similarity,
        )
    path = out / REQUESTS
    console.print(f"{len(made)} requests → {path}", highlight=False)


@app.command("trajectories")
def trajectories_command(
    world: WorldOption = "atlas",
    out: OutOption = DEFAULT_OUT,
    teacher: TeacherOption = None,
    workers: WorkersOption = 1,
    gpu: GpuLayers = None,
    max_steps: Annotated[
        int, typer.Option(min=1, help="steps before a run counts as incomplete")
    ] = 10,
    no_answer: Annotated[float, typer.Option(help="llm: chance a tool returns nothing")] = 0.1,
    partial: Annotated[float, typer.Option(help="llm: chance a tool answers in part")] = 0.1,
    seed: SeedOption = 0,
) -> None:
    """Run the world's agent on every request without a trajectory yet (resumable).

    Examples:

      waypoint simulate trajectories --world atlas --out runs/sim

      waypoint simulate trajectories --world llm --teacher my-teacher --workers 8 --out runs/llm
    """
    from finetune.simulation import TRAJECTORIES, simulate_trajectories

    chosen = _world(world)
    with run_log(out):
        summary = simulate_trajectories(
            chosen,
            out,
            teacher=_teacher(teacher, workers, gpu),
            workers=workers,
            max_steps=max_steps,
            no_answer=no_answer,
            partial=partial,
            seed=seed,
        )
    _report(summary, "trajectories", out / TRAJECTORIES)


@app.command("judge")
def judge_command(
    world: WorldOption = "atlas",
    out: OutOption = DEFAULT_OUT,
    teacher: TeacherOption = None,
    workers: WorkersOption = 1,
    gpu: GpuLayers = None,
) -> None:
    """Rate every trajectory without a rating yet: atlas judge or LLM judge (resumable).

    Examples:

      waypoint simulate judge --world atlas --out runs/sim

      waypoint simulate judge --world llm --teacher my-teacher --workers 8 --out runs/llm
    """
    from finetune.simulation import RATINGS, simulate_judge

    chosen = _world(world)
    with run_log(out):
        model = _teacher(teacher, workers, gpu)
        summary = simulate_judge(chosen, out, teacher=model, workers=workers)
    _report(summary, "ratings", out / RATINGS)


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
    from finetune.package import stats_table
    from finetune.simulation import DATASET, simulate_package

    chosen = _world(world)
    with run_log(out):
        dataset = simulate_package(
            chosen, out, min_rating=min_rating, val_fraction=val_fraction, seed=seed
        )
    Console().print(stats_table(dataset.stats))
    console.print(f"dataset → {out / DATASET}", highlight=False)
