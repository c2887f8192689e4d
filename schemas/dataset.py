"""One supervised fine-tuning example: a whole trajectory as the fine-tuned planner's
conversation (system, the request, then each plan and its result), learned from one
sequence with the loss on every plan."""

from pydantic import BaseModel

from schemas.chat import Message


class SFTExample(BaseModel):
    request_id: str
    messages: list[Message]  # system, user (request), then assistant (plan) / user (result)

    def prompts(self) -> list[list[Message]]:
        """The planner's prompt before each plan: the conversation up to that message."""
        return [self.messages[:i] for i, m in enumerate(self.messages) if m.role == "assistant"]
