"""A user request, with the gold answer or action where a world knows it."""

from pydantic import BaseModel, Field


class GoldAction(BaseModel):
    tool: str
    arguments: dict[str, str]


class Gold(BaseModel):
    answer: str | None = None
    action: GoldAction | None = None
    tools: list[str] = Field(default_factory=list, description="the expected tool sequence")


class Request(BaseModel):
    id: str
    text: str
    source: str = "user"
    shape: str | None = None
    gold: Gold | None = None
