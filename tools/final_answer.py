"""`final_answer`: compose the answer to the request from the results so far, under a schema.

Its observation is final: the agent ends the run with it as the answer.
"""

from typing import Self

from pydantic import BaseModel, Field

from models.chat_model import ChatModel
from schemas.chat import system
from schemas.trajectory import Scratchpad
from tools import prompts
from tools.base import Observation, Tool
from tools.context import TextSink, ToolContext
from tools.function_calling import context_message, structured
from tools.streaming import stream_structured

MAX_TOKENS = 300  # the answer is at most 500 characters; looping text runs ~4 per token


class Answer(BaseModel):
    answer: str = Field(min_length=1, max_length=500, description="the answer to the request")


class FinalAnswer(Tool):
    name = "final_answer"
    description = "Gives the final answer to the user once the results so far contain it."

    def __init__(self, model: ChatModel, on_text: TextSink | None = None) -> None:
        self.model = model
        self.on_text = on_text

    @classmethod
    def from_context(cls, context: ToolContext) -> Self:
        return cls(context.require_model(cls.name), context.answer_sink)

    def run(self, request: str, task: str, scratchpad: Scratchpad) -> Observation:
        messages = [
            system(prompts.FINAL_ANSWER_SYSTEM),
            context_message(request, task, scratchpad),
        ]
        if self.on_text is None:
            answer = structured(self.model, Answer, messages, max_tokens=MAX_TOKENS)
        else:
            answer = stream_structured(
                self.model, Answer, messages, field="answer", on_text=self.on_text,
                max_tokens=MAX_TOKENS,
            )  # fmt: skip
        return Observation(text=answer.answer, final=True)
