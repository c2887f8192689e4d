"""The planners an evaluation compares, named by specs:

- `expert`: the atlas world's scripted expert (gold solutions; atlas requests only);
- `random`: any tool, the request as the task (the floor of every comparison);
- `zero-shot[:MODEL]`, `fine-tuned[:MODEL]`: a model planner with the zero-shot or the
  fine-tuned prompt; MODEL is a registry name or a GGUF path (default: the bundled model);
- `self-aware[:MODEL]`: a planner trained on self-aware data (`finetune self-aware`), which
  acts, reflects or consults the shipped knowledge base at each step (seed 000, KnowSelf).

A spec's canonical text is the planner's label in records, reports and comparisons.
"""

import zlib
from collections.abc import Callable, Iterable
from typing import Literal

from pydantic import BaseModel

from evals.environment import Environment, Models
from evals.errors import EvalError
from evals.request_sets import RequestSet
from evals.store import EvalSettings
from models.registry import DEFAULT_MODEL, worked_examples
from planner.base import Planner
from planner.examples import ExampleBank
from planner.kinds import PLANNERS
from schemas.request import Request

Kind = Literal["expert", "random", "zero-shot", "fine-tuned", "self-aware"]
BASELINES = ("expert", "random")
FORMAT = f"{', '.join(BASELINES)}, {', '.join(f'{k}[:MODEL]' for k in PLANNERS)}"

# The planner for run `run` of one request; building per request keeps a rerun of a part
# of the set identical to a run of the whole.
PlannerFor = Callable[[int, Request], Planner]


class PlannerSpec(BaseModel):
    kind: Kind
    model: str | None = None  # model planners only

    @property
    def label(self) -> str:
        return f"{self.kind}:{self.model}" if self.model else self.kind

    @classmethod
    def parse(cls, text: str) -> "PlannerSpec":
        kind, _, model = text.strip().partition(":")
        if kind in BASELINES and not model:
            return cls(kind=kind)  # type: ignore[arg-type]
        if kind in PLANNERS:
            return cls(kind=kind, model=model.strip() or DEFAULT_MODEL)  # type: ignore[arg-type]
        raise EvalError(f"unknown planner {text!r}; planners are {FORMAT}")


def parse_planners(texts: Iterable[str]) -> list[PlannerSpec]:
    """Specs from options that may each hold a comma-separated list; repeats are dropped."""
    specs = [PlannerSpec.parse(t) for text in texts for t in text.split(",") if t.strip()]
    if not specs:
        raise EvalError(f"name at least one planner: {FORMAT}")
    return list({s.label: s for s in specs}.values())


def planner_for(
    spec: PlannerSpec,
    request_set: RequestSet,
    environment: Environment,
    settings: EvalSettings,
    models: Models,
) -> PlannerFor:
    """How to get the planner of each (run, request); a model loads here, before any run."""
    if spec.kind == "expert":
        from planner.baselines import ExpertPlanner
        from tools.atlas.requests import AtlasRequest

        if request_set.world != "atlas":
            raise EvalError(f"the expert knows only atlas requests, not {request_set.spec}")
        expert = ExpertPlanner(r for r in request_set.requests if isinstance(r, AtlasRequest))
        return lambda run, request: expert
    if spec.kind == "random":
        from planner.baselines import RandomPlanner

        def random_planner(run: int, request: Request) -> Planner:
            seed = zlib.crc32(f"{settings.seed}:{run}:{request.id}".encode())
            return RandomPlanner(environment.tool_names, seed=seed)

        return random_planner
    model = models.get(spec.model or DEFAULT_MODEL)
    planner_class = PLANNERS[spec.kind]
    examples = worked_examples(spec.model or DEFAULT_MODEL)
    bank = ExampleBank.load(examples) if examples else None
    by_run: dict[int, Planner] = {}

    def model_planner(run: int, request: Request) -> Planner:
        if run not in by_run:
            by_run[run] = planner_class(
                model,
                environment.tools,
                temperature=settings.temperature,
                seed=settings.seed + run,
                max_tokens=settings.max_tokens,
                grounded=settings.grounded,
                examples=bank,
            )
        return by_run[run]

    return model_planner
