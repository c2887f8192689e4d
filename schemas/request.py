"""A user request, with the gold answer or action where a world knows it."""

from pydantic import BaseModel, Field

from schemas.trajectory import Exchange


class GoldAction(BaseModel):
    tool: str
    arguments: dict[str, str]


class Gold(BaseModel):
    answer: str | None = None
    accept: list[str] = Field(
        default_factory=list, description="other ways of writing the answer that count as right"
    )
    action: GoldAction | None = None
    tools: list[str] = Field(default_factory=list, description="the expected tool sequence")


class Request(BaseModel):
    id: str
    text: str
    history: list[Exchange] = Field(
        default_factory=list, description="earlier turns of the conversation it belongs to"
    )
    source: str = "user"
    shape: str | None = None
    gold: Gold | None = None
