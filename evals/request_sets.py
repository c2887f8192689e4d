"""Request sets to evaluate on, named by one string:

- `atlas:SEED:COUNT[:PHRASINGS]`: COUNT requests about the atlas world of SEED, with train
  phrasings (default), `heldout` ones never used in training, or `all`;
- `real[:COUNT]`: the hand-written requests for the real tools (`evals/data/real_tools.jsonl`),
  all or the first COUNT;
- a JSONL file (or a simulation folder holding `requests.jsonl`), read by
  `tools.request_file`: atlas requests, a teacher's, or a user's own.

Atlas requests carry gold answers and solutions, so the expert, the atlas tools and the
atlas judge can work on them. Real-tool requests (every one with source "real") run on the
real tools and are checked programmatically (`evals.checks`). Other requests need a model
judge and simulated tools.
"""

from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Literal, get_args

from evals.errors import EvalError
from schemas.request import Request
from tools.atlas.requests import AtlasRequest, PhrasingSplit, atlas_requests
from tools.atlas.world import build_world
from tools.request_file import read_requests

WorldKind = Literal["atlas", "llm", "real"]
ATLAS_FORMAT = "atlas:SEED:COUNT[:train|heldout|all]"
REQUESTS_FILE = "requests.jsonl"
REAL = "real"


@dataclass(frozen=True)
class RequestSet:
    spec: str  # as the user named it; a run folder keeps it to recognise a rerun
    world: WorldKind
    requests: list[Request]  # AtlasRequest instances when world == "atlas"

    def atlas_seed(self) -> int:
        """The seed of the world the atlas requests are about (a set has one world)."""
        seeds = {r.world_seed for r in self.requests if isinstance(r, AtlasRequest)}
        if self.world != "atlas" or len(seeds) != 1:
            raise EvalError(f"{self.spec} is not a set of atlas requests about one world")
        return seeds.pop()


def real_tool_requests() -> Path:
    """The hand-written real-tool set: facts of the bundled encyclopedia, calculations and
    actions, each with its gold (rated by `evals.checks`)."""
    return Path(str(resources.files("evals.data") / "real_tools.jsonl"))


def load_request_set(spec: str) -> RequestSet:
    if spec.startswith("atlas:"):
        return _atlas_set(spec)
    if spec == REAL or spec.startswith(f"{REAL}:"):
        return _real_set(spec)
    path = Path(spec).expanduser()
    if path.is_dir():
        path = path / REQUESTS_FILE
    if not path.is_file():
        raise EvalError(f"--requests {spec!r} is neither {ATLAS_FORMAT} nor a JSONL file")
    return read_request_set(path, spec)


def read_request_set(path: Path, spec: str) -> RequestSet:
    """The requests of a JSONL file, as the set named `spec`."""
    requests = read_requests(path)
    atlas = isinstance(requests[0], AtlasRequest)
    real = all(r.source == REAL for r in requests)
    request_set = RequestSet(spec, "atlas" if atlas else "real" if real else "llm", requests)
    if atlas:
        request_set.atlas_seed()  # one world per set, checked now rather than mid-run
    return request_set


def _real_set(spec: str) -> RequestSet:
    _, _, count = spec.partition(":")
    if count and not (count.isdigit() and int(count) > 0):
        raise EvalError(f"bad request set {spec!r}: write {REAL} or {REAL}:COUNT, e.g. real:10")
    request_set = read_request_set(real_tool_requests(), spec)
    if count:
        return RequestSet(spec, request_set.world, request_set.requests[: int(count)])
    return request_set


def _atlas_set(spec: str) -> RequestSet:
    _, *parts = spec.split(":")
    if len(parts) not in (2, 3) or not all(p.strip().isdigit() for p in parts[:2]):
        raise EvalError(f"bad request set {spec!r}: write {ATLAS_FORMAT}, e.g. atlas:2:40")
    seed, count = int(parts[0]), int(parts[1])
    phrasings = parts[2] if len(parts) == 3 else "train"
    if phrasings not in get_args(PhrasingSplit):
        raise EvalError(f"bad phrasings {phrasings!r} in {spec!r}: train, heldout or all")
    if count < 1:
        raise EvalError(f"a request set needs at least one request, not {count}")
    requests = atlas_requests(build_world(seed), count, phrasings)  # type: ignore[arg-type]
    return RequestSet(spec, "atlas", list(requests))
