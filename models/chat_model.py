"""The one contract every LLM backend meets: messages in, a Completion out.

A schema (Pydantic class or JSON Schema dict) is enforced by a grammar where the backend
supports it, and the text is always validated afterwards (Pydantic, or jsonschema for a
dict); `parsed` holds the result and `schema_warnings` what the grammar left to validation.
"""

from abc import ABC, abstractmethod
from collections.abc import Iterator, Sequence
from typing import Any

from pydantic import BaseModel

from schemas.chat import Completion, Message
from schemas.errors import WaypointError

Schema = type[BaseModel] | dict[str, Any]


class ModelError(WaypointError):
    """A model could not be found, loaded or reached."""


class CompletionError(ModelError):
    """A completion came back unusable: cut off by max_tokens, or failing its schema."""

    def __init__(self, message: str, completion: Completion | None = None) -> None:
        super().__init__(message)
        self.completion = completion


class ServerFault(ModelError):
    """A model's server failed, not the model: unreachable, too slow, overloaded (429) or
    broken (5xx, a response cut off), after the client's own retries. The same request may
    well succeed later, so work cut short by a fault is no result: a simulation or an
    evaluation records it as an error, writes no record, and runs it again next time."""


class ChatModel(ABC):
    name: str = "model"
    # Refuse a schema whose grammar would enforce only part of it (`models.structured`)
    # instead of logging the compiler's warnings and validating the output afterwards.
    strict_schemas: bool = False

    @abstractmethod
    def complete(
        self,
        messages: Sequence[Message],
        *,
        schema: Schema | None = None,
        grammar: str | None = None,
        max_tokens: int = 512,
        temperature: float = 0.0,
        top_p: float = 1.0,
        seed: int | None = None,
        stop: Sequence[str] | None = None,
    ) -> Completion:
        """One completion. With a schema, `parsed` is validated (a model instance for a
        Pydantic class, a dict for a JSON Schema) or CompletionError is raised."""

    def check(self) -> None:
        """Fail now, in one line, when this model cannot answer at all (a server that is
        not there), rather than once per request of a long run. Nothing to check here."""
        return None

    def stream(self, messages: Sequence[Message], **kwargs: Any) -> Iterator[str]:
        """Text as it is generated. Backends that can stream override this."""
        yield self.complete(messages, **kwargs).text
