"""The agent loop: plan, act, observe, until a tool gives the final answer or the steps run out.

The agent knows no tool by name. A step's tool is looked up in the tool set and run; an
observation marked final ends the run with its text as the answer. At the last step the
planner may only choose a tool that ends the run, so a run that can answer does, and before
it only the tools ready for what the run has read (`Tool.ready`). A tool that raises does not
end the run: its error becomes the observation the planner sees next. Every run,
finished or not, is returned as a `Trajectory`, except one cut short by a model server's
fault (`ServerFault`, from the planner or a tool): that is no result of the run, and the
fault is raised for the caller to retry the request later.
"""

import logging
import time
import uuid
from collections.abc import Sequence

from models.chat_model import ServerFault
from planner.base import Planner
from planner.events import (
    Answered,
    Event,
    PlanMade,
    RunFinished,
    RunStarted,
    Subscriber,
    ToolFinished,
    ToolStarted,
)
from schemas.errors import WaypointError
from schemas.plan import PlanRecord
from schemas.trajectory import (
    Exchange,
    Scratchpad,
    Step,
    Trajectory,
    TrajectoryMeta,
    texts_read,
)
from tools.base import Tool

logger = logging.getLogger(__name__)


class RunInterrupted(KeyboardInterrupt):
    """Ctrl-C during a run; `trajectory` holds the steps finished before it."""

    def __init__(self, trajectory: Trajectory) -> None:
        super().__init__("interrupted")
        self.trajectory = trajectory


class Agent:
    def __init__(self, planner: Planner, tools: Sequence[Tool], max_steps: int = 10) -> None:
        if max_steps < 1:
            raise ValueError(f"max_steps must be at least 1, got {max_steps}")
        self.tools = {tool.name: tool for tool in tools}
        if len(self.tools) != len(tools):
            raise ValueError("two tools share a name")
        if missing := [name for name in planner.tool_names if name not in self.tools]:
            raise ValueError(f"the planner may choose tools the agent lacks: {missing}")
        self.planner = planner
        self.max_steps = max_steps
        self.final_tools = tuple(name for name, tool in self.tools.items() if tool.ends_run)
        self.turns: list[Trajectory] = []  # this conversation, one trajectory per request
        self._subscribers: list[Subscriber] = []

    # -- events ---------------------------------------------------------------------------

    def subscribe(self, subscriber: Subscriber) -> None:
        self._subscribers.append(subscriber)

    def unsubscribe(self, subscriber: Subscriber) -> None:
        self._subscribers.remove(subscriber)

    def _emit(self, event: Event) -> None:
        for subscriber in self._subscribers:
            subscriber(event)

    # -- conversation ---------------------------------------------------------------------

    @property
    def history(self) -> list[Exchange]:
        return [Exchange(request=t.request, answer=t.answer) for t in self.turns]

    def chat(self, request: str, *, request_id: str | None = None) -> Trajectory:
        """One turn of the conversation: the earlier turns are the planner's history."""
        try:
            trajectory = self.run(request, request_id=request_id, history=self.history)
        except RunInterrupted as interrupted:
            self.turns.append(interrupted.trajectory)
            raise
        self.turns.append(trajectory)
        return trajectory

    def reset(self) -> None:
        self.turns.clear()

    # -- one request ----------------------------------------------------------------------

    def run(
        self,
        request: str,
        *,
        request_id: str | None = None,
        meta: TrajectoryMeta | None = None,
        history: Sequence[Exchange] = (),
    ) -> Trajectory:
        """Run one request to an answer, or to `incomplete` when the steps run out, or to
        `failed` when the planner cannot produce a plan. Ctrl-C raises RunInterrupted; a
        server's fault is raised as it came (ServerFault), the run being no result."""
        trajectory = Trajectory(
            request_id=request_id or uuid.uuid4().hex[:12],
            request=request,
            history=list(history),
            meta=meta or TrajectoryMeta(planner=self.planner.name, model=self.planner.model_name),
        )
        started = time.perf_counter()
        self._emit(RunStarted(request_id=trajectory.request_id, request=request))
        try:
            self._loop(trajectory)
        except KeyboardInterrupt:
            trajectory.status, trajectory.reason = "incomplete", "interrupted by the user"
            raise RunInterrupted(trajectory) from None
        except ServerFault as e:
            trajectory.reason = f"cut short by a server fault: {e}"
            raise
        finally:
            trajectory.seconds = time.perf_counter() - started
            self._emit(RunFinished(trajectory=trajectory))
        return trajectory

    def _loop(self, trajectory: Trajectory) -> None:
        for number in range(1, self.max_steps + 1):
            scratchpad = Scratchpad(steps=trajectory.steps)
            last = number == self.max_steps and self.final_tools
            only = self.final_tools if last else self._ready(trajectory, scratchpad)
            try:
                decision = self.planner.plan(
                    trajectory.request, scratchpad, trajectory.history, only=only
                )
            except ServerFault:
                raise
            except WaypointError as e:
                trajectory.status = "failed"
                trajectory.reason = f"the planner failed at step {number}: {e}"
                return
            trajectory.prompt_tokens += decision.prompt_tokens
            trajectory.completion_tokens += decision.completion_tokens
            self._emit(PlanMade(step=number, plan=decision.plan))
            step, final = self._act(number, trajectory.request, decision.plan, scratchpad)
            trajectory.steps.append(step.model_copy(update={"awareness": decision.awareness}))
            if final:
                trajectory.answer, trajectory.status = step.observation, "answered"
                self._emit(Answered(answer=step.observation))
                return
        trajectory.status = "incomplete"
        trajectory.reason = f"no answer within {self.max_steps} steps"

    def _ready(self, trajectory: Trajectory, scratchpad: Scratchpad) -> list[str] | None:
        """The tools that can act on what the run has read (`Tool.ready`), or None when all
        can."""
        seen = texts_read(trajectory.request, scratchpad, trajectory.history)
        ready = [name for name, tool in self.tools.items() if tool.ready(seen)]
        return None if len(ready) == len(self.tools) else ready

    def _act(
        self, number: int, request: str, plan: PlanRecord, scratchpad: Scratchpad
    ) -> tuple[Step, bool]:
        self._emit(ToolStarted(step=number, tool=plan.tool, task=plan.task))
        tool = self.tools.get(plan.tool)
        try:
            if tool is None:
                raise WaypointError(f"there is no tool named {plan.tool!r}")
            observation = tool.run(request, plan.task, scratchpad)
            step, final = Step(plan=plan, observation=observation.text), observation.final
        except ServerFault:
            raise  # the server's trouble, not a result the planner should see
        except Exception as e:  # a failing tool must not end the run: the planner sees why
            logger.debug("tool %s raised", plan.tool, exc_info=True)
            error = str(e) if isinstance(e, WaypointError) else f"{type(e).__name__}: {e}"
            step, final = Step(plan=plan, observation=f"error: {error}", error=error), False
        finished = ToolFinished(
            step=number, tool=plan.tool, observation=step.observation, error=step.error, final=final
        )
        self._emit(finished)
        return step, final
