"""`ask_user`: the planner's task is the question; the reply is the observation.

The question goes to a callback: the terminal in a chat, a simulated user in automated runs.
"""

from typing import Self

from schemas.trajectory import Scratchpad
from tools.base import Observation, Tool, ToolError
from tools.context import AskUser as Ask
from tools.context import ToolContext, terminal_ask


class AskUser(Tool):
    name = "ask_user"
    description = "Asks the user a question, for facts or choices that only the user knows."

    def __init__(self, ask: Ask = terminal_ask) -> None:
        self.ask = ask

    @classmethod
    def from_context(cls, context: ToolContext) -> Self:
        return cls(context.ask)

    def run(self, request: str, task: str, scratchpad: Scratchpad) -> Observation:
        try:
            reply = self.ask(task).strip()
        except EOFError as e:
            raise ToolError("the user cannot be asked: there is no input") from e
        return Observation(text=reply or "(the user did not answer)")
