"""The Tool interface: a name, a one-line description the planner sees, and `run`.

A tool receives the user's request, the planner's task for this step and the scratchpad
of earlier steps. A tool that needs arguments derives them from the task itself (its own
schema-constrained model call): the planner never writes function calls.
"""

from abc import ABC, abstractmethod
from typing import ClassVar

from pydantic import BaseModel

from schemas.errors import WaypointError
from schemas.trajectory import Scratchpad


class Observation(BaseModel):
    text: str
    final: bool = False  # True when this observation is the answer to the request


class ToolError(WaypointError):
    """A tool could not do its job; the message is shown to the planner as the observation."""


class Tool(ABC):
    name: ClassVar[str]
    description: ClassVar[str]

    @abstractmethod
    def run(self, request: str, task: str, scratchpad: Scratchpad) -> Observation: ...
