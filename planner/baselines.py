"""Planners without a model, the two ends of every comparison on the atlas world.

The expert follows each request's gold solution (written when the atlas request was made)
and so produces the gold trajectories the SFT dataset is built from; the random planner
picks any tool for the request text and shows how low a score can go.
"""

import random
from collections.abc import Iterable, Sequence

from planner.base import Decision, Planner
from schemas.errors import WaypointError
from schemas.plan import PlanRecord
from schemas.trajectory import Exchange, Scratchpad
from tools.atlas.requests import AtlasRequest
from tools.atlas.tools import ATLAS_TOOL_NAMES


class ExpertPlanner(Planner):
    name = "expert"
    tool_names = ATLAS_TOOL_NAMES

    def __init__(self, requests: Iterable[AtlasRequest]) -> None:
        self.solutions: dict[str, list[PlanRecord]] = {r.text: r.plans() for r in requests}

    def plan(
        self, request: str, scratchpad: Scratchpad, history: Sequence[Exchange] = ()
    ) -> Decision:
        plans = self.solutions.get(request)
        if plans is None:
            raise WaypointError(f"the expert knows only atlas requests, not {request[:80]!r}")
        # past the end of the solution (a tool failed), the expert can only answer again
        return Decision(plan=plans[min(len(scratchpad.steps), len(plans) - 1)])


class RandomPlanner(Planner):
    """Any tool, with the request itself as the task. Seeded, so runs repeat."""

    name = "random"

    def __init__(self, tool_names: Sequence[str] = ATLAS_TOOL_NAMES, seed: int = 0) -> None:
        self.tool_names = tuple(tool_names)
        self.rng = random.Random(seed)

    def plan(
        self, request: str, scratchpad: Scratchpad, history: Sequence[Exchange] = ()
    ) -> Decision:
        return Decision(
            plan=PlanRecord(
                context=f"{len(scratchpad.steps)} steps taken.",
                thoughts="Any tool will do.",
                task=request[:200],
                tool=self.rng.choice(self.tool_names),
            )
        )
