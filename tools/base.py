"""The Tool interface: a name, a one-line description the planner sees, and `run`.

A tool receives the user's request, the planner's task for this step and the scratchpad
of earlier steps. A tool that needs arguments derives them from the task itself (its own
schema-constrained model call): the planner never writes function calls.
"""

from abc import ABC, abstractmethod
from collections.abc import Sequence
from typing import ClassVar, Self

from pydantic import BaseModel

from schemas.errors import WaypointError
from schemas.trajectory import Scratchpad
from tools.context import ToolContext


class Observation(BaseModel):
    text: str
    final: bool = False  # True when this observation is the answer to the request


class ToolError(WaypointError):
    """A tool could not do its job; the message is shown to the planner as the observation."""


class Tool(ABC):
    name: ClassVar[str]
    description: ClassVar[str]
    ends_run: ClassVar[bool] = False  # its observation is the answer (final_answer)

    @abstractmethod
    def run(self, request: str, task: str, scratchpad: Scratchpad) -> Observation: ...

    def ready(self, seen: Sequence[str]) -> bool:
        """Whether the tool can act on what the run has read so far (`seen`, see
        `schemas.trajectory.texts_read`). The plan grammar offers only tools that are ready:
        `send_email` waits until an e-mail address has been read."""
        return True

    @classmethod
    def from_context(cls, context: ToolContext) -> Self:
        """Build the tool from the shared context (the registry's way in); a tool that needs
        a model, a folder or a callback overrides this and takes it from `context`."""
        return cls()

    @classmethod
    def unavailable(cls, context: ToolContext) -> str | None:
        """Why the tool cannot work with `context` (say, a missing server URL), or None.
        Default tool sets leave such a tool out; naming it explicitly is an error."""
        return None
