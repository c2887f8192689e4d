"""The two simulation worlds behind one set of calls: where requests come from, which agent
runs them and which judge rates them.

- atlas: requests from templates over a seeded world, the scripted expert on the atlas
  tools, the programmatic judge. Offline, deterministic, every answer checkable.
- llm: the reference loop. A teacher model writes the requests, plans (the teacher
  planner), plays the tools (simulated tools) and judges (the LLM judge).

A simulation lives in one folder: requests.jsonl → trajectories.jsonl → ratings.jsonl →
dataset/ (train.jsonl, validation.jsonl, stats.json).
"""

from collections.abc import Sequence
from pathlib import Path
from typing import Literal

from finetune.judging import judge_trajectories
from finetune.package import Dataset, package_dataset, write_dataset
from finetune.requests import generate_requests
from finetune.resumable import RunSummary
from finetune.teacher import TeacherPlanner
from finetune.trajectories import generate_trajectories
from models.chat_model import ChatModel
from planner.agent import Agent
from planner.baselines import ExpertPlanner
from planner.judge import Judge, LLMJudge
from schemas.errors import WaypointError
from schemas.rating import TrajectoryRating
from schemas.records import read_records, write_records
from schemas.request import Request
from schemas.trajectory import Trajectory, TrajectoryMeta
from tools.atlas.judge import AtlasJudge
from tools.atlas.requests import AtlasRequest, PhrasingSplit, atlas_requests
from tools.atlas.tools import ATLAS_TOOL_NAMES, atlas_tools
from tools.atlas.world import World, build_world
from tools.registry import TOOLS
from tools.request_file import read_requests
from tools.simulated import simulated_tools

WorldName = Literal["atlas", "llm"]
REQUESTS, TRAJECTORIES, RATINGS, DATASET = (
    "requests.jsonl", "trajectories.jsonl", "ratings.jsonl", "dataset",
)  # fmt: skip


def world_requests(path: Path, world: WorldName) -> list[Request]:
    """The requests of a simulation folder; the atlas world needs atlas requests."""
    if not path.is_file():
        raise WaypointError(f"no requests in {path}: run 'waypoint simulate requests' first")
    requests = read_requests(path)
    if world == "atlas" and not isinstance(requests[0], AtlasRequest):
        raise WaypointError(f"{path} holds no atlas requests: use --world llm for these")
    return requests


def atlas_world_of(requests: Sequence[Request]) -> World:
    """The world an atlas request set was made from (all its requests must share it)."""
    seeds = {r.world_seed for r in requests if isinstance(r, AtlasRequest)}
    if len(seeds) != 1 or not all(isinstance(r, AtlasRequest) for r in requests):
        raise WaypointError(f"atlas requests must come from one world; found seeds {sorted(seeds)}")
    return build_world(seeds.pop())


def require_teacher(world: WorldName, teacher: ChatModel | None) -> ChatModel:
    if teacher is None:
        raise WaypointError(f"the {world} world needs a teacher model (--teacher MODEL)")
    return teacher


def make_agent(
    world: WorldName,
    requests: Sequence[Request],
    teacher: ChatModel | None = None,
    *,
    max_steps: int = 10,
    no_answer: float = 0.1,
    partial: float = 0.1,
    seed: int = 0,
) -> tuple[Agent, TrajectoryMeta]:
    """The agent that produces the world's training trajectories, and their metadata."""
    if world == "atlas":
        atlas = atlas_world_of(requests)
        expert = ExpertPlanner(r for r in requests if isinstance(r, AtlasRequest))
        meta = TrajectoryMeta(planner=expert.name, world="atlas", seed=atlas.seed)
        return Agent(expert, atlas_tools(atlas), max_steps=max_steps), meta
    model = require_teacher(world, teacher)
    tools = simulated_tools(model, no_answer=no_answer, partial=partial, seed=seed)
    planner = TeacherPlanner(model, tools, seed=seed)
    meta = TrajectoryMeta(planner=planner.name, model=model.name, world="llm", seed=seed)
    return Agent(planner, tools, max_steps=max_steps), meta


def make_judge(world: WorldName, teacher: ChatModel | None = None) -> Judge:
    return AtlasJudge() if world == "atlas" else LLMJudge(require_teacher(world, teacher))


def tool_names(world: WorldName) -> tuple[str, ...]:
    """The tool set a planner trained on this world's data plans over."""
    return ATLAS_TOOL_NAMES if world == "atlas" else tuple(TOOLS)


# -- the four stages, each reading and writing the simulation folder ---------------------


def simulate_requests(
    world: WorldName,
    folder: Path,
    count: int,
    *,
    seed: int = 0,
    phrasings: PhrasingSplit = "train",
    teacher: ChatModel | None = None,
    max_similarity: float = 0.9,
) -> list[Request]:
    """requests.jsonl: atlas templates over the world of `seed`, or a teacher's own."""
    path = folder / REQUESTS
    if world == "llm":
        model = require_teacher(world, teacher)
        return generate_requests(model, count, path, seed=seed, max_similarity=max_similarity)
    try:
        made = atlas_requests(build_world(seed), count, phrasings)
    except ValueError as e:
        raise WaypointError(str(e)) from e
    write_records(path, made)
    return list(made)


def simulate_trajectories(
    world: WorldName,
    folder: Path,
    *,
    teacher: ChatModel | None = None,
    workers: int = 1,
    max_steps: int = 10,
    no_answer: float = 0.1,
    partial: float = 0.1,
    seed: int = 0,
    show_progress: bool = True,
) -> RunSummary:
    """trajectories.jsonl: the world's agent on every request that has none yet."""
    requests = world_requests(folder / REQUESTS, world)
    agent, meta = make_agent(
        world,
        requests,
        teacher,
        max_steps=max_steps,
        no_answer=no_answer,
        partial=partial,
        seed=seed,
    )
    return generate_trajectories(
        requests, agent, folder / TRAJECTORIES, meta, workers=workers, show_progress=show_progress
    )


def simulate_judge(
    world: WorldName,
    folder: Path,
    *,
    teacher: ChatModel | None = None,
    workers: int = 1,
    show_progress: bool = True,
) -> RunSummary:
    """ratings.jsonl: every trajectory without a rating yet, rated by the world's judge."""
    requests = {r.id: r for r in world_requests(folder / REQUESTS, world)}
    trajectories = read_records(folder / TRAJECTORIES, Trajectory)
    if not trajectories:
        hint = "run 'waypoint simulate trajectories' first"
        raise WaypointError(f"no trajectories in {folder / TRAJECTORIES}: {hint}")
    judge = make_judge(world, teacher)
    out = folder / RATINGS
    return judge_trajectories(
        trajectories, requests, judge, out, workers=workers, show_progress=show_progress
    )


def simulate_package(
    world: WorldName,
    folder: Path,
    *,
    min_rating: int = 4,
    val_fraction: float = 0.1,
    seed: int = 0,
    worked_examples: bool = False,
) -> Dataset:
    """dataset/: one SFT example per well-rated trajectory, split by request; with
    `worked_examples`, each prompt shows the nearest solved request of another wording."""
    trajectories = read_records(folder / TRAJECTORIES, Trajectory)
    ratings = {r.request_id: r for r in read_records(folder / RATINGS, TrajectoryRating)}
    phrasings = None
    if worked_examples:
        requests = world_requests(folder / REQUESTS, world)
        phrasings = {r.id: getattr(r, "phrasing", None) for r in requests}
    dataset = package_dataset(
        trajectories,
        ratings,
        tool_names(world),
        min_rating=min_rating,
        val_fraction=val_fraction,
        seed=seed,
        phrasings=phrasings,
    )
    write_dataset(dataset, folder / DATASET)
    return dataset
