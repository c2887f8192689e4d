"""What goes into a chat model and what comes out of it."""

from typing import Any, Literal

from pydantic import BaseModel, Field

Role = Literal["system", "user", "assistant"]


class Message(BaseModel):
    role: Role
    content: str


def system(content: str) -> Message:
    return Message(role="system", content=content)


def user(content: str) -> Message:
    return Message(role="user", content=content)


def assistant(content: str) -> Message:
    return Message(role="assistant", content=content)


class Timings(BaseModel):
    """Wall-clock cost of one completion, split into prompt processing and decoding."""

    prompt_ms: float = 0.0
    decode_ms: float = 0.0

    def tokens_per_second(self, completion_tokens: int) -> float:
        return completion_tokens / (self.decode_ms / 1000) if self.decode_ms > 0 else 0.0


class Completion(BaseModel):
    """One model answer. `parsed` holds the validated object when a schema was given."""

    text: str
    parsed: Any = None
    model: str = ""
    prompt_tokens: int = 0
    cached_tokens: int = Field(0, description="prompt tokens reused from the KV cache")
    completion_tokens: int = 0
    finish_reason: Literal["stop", "length"] = "stop"
    schema_warnings: list[str] = Field(
        default_factory=list,
        description="what the grammar could not enforce of the schema (validated after)",
    )
    timings: Timings = Field(default_factory=Timings)
