"""Request sets to evaluate on, named by one string:

- `atlas:SEED:COUNT[:PHRASINGS]`: COUNT requests about the atlas world of SEED, with train
  phrasings (default), `heldout` ones never used in training, or `all`;
- a JSONL file (or a simulation folder holding `requests.jsonl`): atlas requests written by
  `waypoint simulate requests`, a teacher's requests, or a user's own. A user's line needs
  only `text`; a missing `id` becomes `line-N`.

Atlas requests carry gold answers and solutions, so the expert, the atlas tools and the
atlas judge can work on them; other requests need a model judge and simulated tools.
"""

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Literal, get_args

from pydantic import ValidationError

from evals.errors import EvalError
from schemas.errors import validation_problem
from schemas.request import Request
from tools.atlas.requests import AtlasRequest, PhrasingSplit, atlas_requests
from tools.atlas.world import build_world

WorldKind = Literal["atlas", "llm"]
ATLAS_FORMAT = "atlas:SEED:COUNT[:train|heldout|all]"
REQUESTS_FILE = "requests.jsonl"


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


def load_request_set(spec: str) -> RequestSet:
    if spec.startswith("atlas:"):
        return _atlas_set(spec)
    path = Path(spec).expanduser()
    if path.is_dir():
        path = path / REQUESTS_FILE
    if not path.is_file():
        raise EvalError(f"--requests {spec!r} is neither {ATLAS_FORMAT} nor a JSONL file")
    return read_requests(path, spec)


def read_requests(path: Path, spec: str) -> RequestSet:
    """The requests of a JSONL file, as the set named `spec`."""
    return _from_records(spec, _read_lines(path))


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


def _read_lines(path: Path) -> list[tuple[str, dict]]:
    """(where, object) for every non-blank line; anything but a JSON object is an error."""
    records = []
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        if not line.strip():
            continue
        where = f"{path}:{number}"
        try:
            data = json.loads(line)
        except json.JSONDecodeError as e:
            raise EvalError(f"{where}: not JSON ({e.msg})") from e
        if not isinstance(data, dict):
            raise EvalError(f'{where}: a request is a JSON object like {{"text": "…"}}')
        records.append((where, {"id": f"line-{number}"} | data))
    return records


def _from_records(spec: str, records: list[tuple[str, dict]]) -> RequestSet:
    """Requests from parsed lines: atlas requests when they carry a world seed, else plain."""
    if not records:
        raise EvalError(f"no requests in {spec}")
    atlas = "world_seed" in records[0][1]
    model = AtlasRequest if atlas else Request
    requests = []
    for where, data in records:
        if ("world_seed" in data) != atlas:
            raise EvalError(f"{where}: atlas and other requests are mixed in one set")
        try:
            requests.append(model.model_validate(data))
        except ValidationError as e:
            raise EvalError(f"{where}: {validation_problem(e, 'request')}") from e
    ids = [r.id for r in requests]
    if len(set(ids)) < len(ids):
        twice = next(i for i in ids if ids.count(i) > 1)
        raise EvalError(f"the request id {twice!r} appears twice in {spec}")
    request_set = RequestSet(spec, "atlas" if atlas else "llm", requests)
    if atlas:
        request_set.atlas_seed()  # one world per set, checked now rather than mid-run
    return request_set
