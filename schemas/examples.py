"""Worked examples on disk: JSONL of solved requests, each with the tool and task of every
step, that a fine-tuned planner is shown beside a new request (`planner.examples`)."""

from pydantic import BaseModel, Field


class ExampleStep(BaseModel):
    tool: str
    task: str


class WorkedExample(BaseModel):
    request: str = Field(min_length=1)
    phrasing: str | None = Field(None, description="the wording it was built from, if known")
    steps: list[ExampleStep] = Field(min_length=1)
