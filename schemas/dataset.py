"""One supervised fine-tuning example: the planner's prompt for a step and the plan it
should write, in the conversational prompt/completion form that trl trains on."""

from pydantic import BaseModel

from schemas.chat import Message


class SFTExample(BaseModel):
    request_id: str
    step: int
    prompt: list[Message]
    completion: list[Message]  # one assistant message: the plan JSON in canonical form
