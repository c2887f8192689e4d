"""A JSONL file of requests, read whole: atlas requests (written by `waypoint simulate
requests`, with gold answers and solutions), a teacher's, or a user's own. A user's line
needs only `text`; a missing `id` becomes `line-N`. Every problem is one line naming the
file and line."""

import json
from pathlib import Path

from pydantic import ValidationError

from schemas.errors import WaypointError, validation_problem
from schemas.request import Request
from tools.atlas.requests import AtlasRequest


class RequestFileError(WaypointError):
    """A request file that cannot be read, or holds a line that is not a request."""


def read_requests(path: Path) -> list[Request]:
    """The requests of `path`: all AtlasRequest (their lines carry a world seed) or all plain."""
    lines = _read_lines(path)
    if not lines:
        raise RequestFileError(f"no requests in {path}")
    atlas = "world_seed" in lines[0][1]
    model = AtlasRequest if atlas else Request
    requests = []
    for where, data in lines:
        if ("world_seed" in data) != atlas:
            raise RequestFileError(f"{where}: atlas and other requests are mixed in one set")
        try:
            requests.append(model.model_validate(data))
        except ValidationError as e:
            raise RequestFileError(f"{where}: {validation_problem(e, 'request')}") from e
    ids = [r.id for r in requests]
    if len(set(ids)) < len(ids):
        twice = next(i for i in ids if ids.count(i) > 1)
        raise RequestFileError(f"the request id {twice!r} appears twice in {path}")
    return requests


def _read_lines(path: Path) -> list[tuple[str, dict]]:
    """(where, object) for every non-blank line; anything but a JSON object is an error."""
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as e:
        raise RequestFileError(f"cannot read {path}: {e.strerror}") from e
    except UnicodeDecodeError as e:
        raise RequestFileError(f"{path} is not UTF-8 text (byte {e.start})") from e
    records = []
    for number, line in enumerate(text.splitlines(), 1):
        if not line.strip():
            continue
        where = f"{path}:{number}"
        try:
            data = json.loads(line)
        except json.JSONDecodeError as e:
            raise RequestFileError(f"{where}: not JSON ({e.msg})") from e
        if not isinstance(data, dict):
            raise RequestFileError(f'{where}: a request is a JSON object like {{"text": "…"}}')
        records.append((where, {"id": f"line-{number}"} | data))
    return records
