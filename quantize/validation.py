"""The prompts a quantized planner is checked on.

By default: the fine-tuned planner's own prompt at every step of atlas requests, in a world
whose seed training runs do not use, worded with the held-out phrasings, and with the
expert's earlier steps as the steps taken. Or the prompts of an SFT validation file.
"""

from pathlib import Path

from pydantic import ValidationError

from planner.prompts import fine_tuned_messages
from quantize.errors import VerifyError
from schemas.chat import Message
from schemas.dataset import SFTExample
from schemas.errors import validation_problem
from schemas.trajectory import Scratchpad, Step
from tools.atlas.requests import atlas_requests
from tools.atlas.world import build_world

VALIDATION_WORLD_SEED = 90_001


def atlas_prompts(count: int, world_seed: int = VALIDATION_WORLD_SEED) -> list[list[Message]]:
    """`count` planner prompts, each a step of a request with the gold steps before it."""
    prompts: list[list[Message]] = []
    for request in atlas_requests(build_world(world_seed), count, phrasings="heldout"):
        steps: list[Step] = []
        for plan, gold in zip(request.plans(), request.solution, strict=True):
            prompts.append(fine_tuned_messages(request.text, Scratchpad(steps=list(steps))))
            if len(prompts) == count:
                return prompts
            steps.append(Step(plan=plan, observation=gold.learned))
    return prompts


def read_prompts(path: Path, count: int | None = None) -> list[list[Message]]:
    """The planner's prompts in an SFT JSONL file (one `SFTExample`, a whole trajectory, a
    line): the prompt before each of its plans, the first `count` of them."""
    if not path.is_file():
        raise VerifyError(f"no such prompt file: {path}")
    prompts: list[list[Message]] = []
    for number, line in enumerate(path.read_text().splitlines(), 1):
        if not line.strip():
            continue
        try:
            prompts.extend(SFTExample.model_validate_json(line).prompts())
        except ValidationError as e:
            raise VerifyError(
                f"{path}, line {number}: not an SFT example ({validation_problem(e)})"
            ) from e
        if count is not None and len(prompts) >= count:
            return prompts[:count]
    if not prompts:
        raise VerifyError(f"{path} holds no prompts")
    return prompts
