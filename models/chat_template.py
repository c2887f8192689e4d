"""A model's own chat template (Jinja, from its GGUF metadata) turning messages into a prompt."""

from collections.abc import Sequence

import jinja2
from llama_cpp.llama_chat_format import Jinja2ChatFormatter

from models.chat_model import ModelError
from schemas.chat import Message


class ChatTemplate:
    def __init__(self, template: str, *, bos_token: str, eos_token: str, model: str) -> None:
        self.model = model
        try:
            self._formatter = Jinja2ChatFormatter(
                template=template, bos_token=bos_token, eos_token=eos_token
            )
        except jinja2.TemplateError as e:
            raise ModelError(f"the chat template of {model} does not compile: {e}") from e

    def render(self, messages: Sequence[Message]) -> str:
        """The prompt, ending with the opening of the assistant's turn."""
        try:
            return self._render(messages)
        except (ValueError, jinja2.TemplateError) as e:
            # Some templates (Mistral's) refuse a system role; fold it into the first user turn.
            if len(messages) > 1 and messages[0].role == "system" and messages[1].role == "user":
                merged = Message(
                    role="user", content=f"{messages[0].content}\n\n{messages[1].content}"
                )
                return self.render([merged, *messages[2:]])
            raise ModelError(f"the chat template of {self.model} refused the messages: {e}") from e

    def _render(self, messages: Sequence[Message]) -> str:
        return self._formatter(messages=[m.model_dump() for m in messages]).prompt
