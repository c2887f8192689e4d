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
        self.solutions = {_key(r.text, r.history): r.plans() for r in requests}

    def plan(
        self,
        request: str,
        scratchpad: Scratchpad,
        history: Sequence[Exchange] = (),
        *,
        only: Sequence[str] | None = None,
    ) -> Decision:
        plans = self.solutions.get(_key(request, history))
        if plans is None:
            raise WaypointError(f"the expert knows only atlas requests, not {request[:80]!r}")
        # past the end of the solution (a tool failed), the expert can only answer again
        return Decision(plan=plans[min(len(scratchpad.steps), len(plans) - 1)])


def _key(request: str, history: Sequence[Exchange]) -> tuple[str, ...]:
    """A follow-up ("And what about Vela?") means something else after another turn."""
    return (request, *(e.request for e in history))


class RandomPlanner(Planner):
    """Any tool, with the request itself as the task. Seeded, so runs repeat."""

    name = "random"

    def __init__(self, tool_names: Sequence[str] = ATLAS_TOOL_NAMES, seed: int = 0) -> None:
        self.tool_names = tuple(tool_names)
        self.rng = random.Random(seed)

    def plan(
        self,
        request: str,
        scratchpad: Scratchpad,
        history: Sequence[Exchange] = (),
        *,
        only: Sequence[str] | None = None,
    ) -> Decision:
        tools = [t for t in self.tool_names if only is None or t in only] or self.tool_names
        return Decision(
            plan=PlanRecord(
                context=f"{len(scratchpad.steps)} steps taken.",
                thoughts="Any tool will do.",
                task=request[:200],
                tool=self.rng.choice(tools),
            )
        )
