"""Judge ratings: the same schema for the programmatic atlas judge and an LLM judge.

The explanation comes before the score so that an LLM judge reasons before it decides.
"""

from typing import Annotated

from pydantic import BaseModel, Field

Score = Annotated[int, Field(ge=1, le=5)]


class Rating(BaseModel):
    explanation: str = Field(max_length=300)
    score: Score


class StepRating(BaseModel):
    task: Rating
    tool: Rating
    result: Rating


class TrajectoryRating(BaseModel):
    request_id: str
    steps: list[StepRating] = Field(default_factory=list)
    answer: Rating
    judge: str
