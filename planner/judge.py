"""The LLM judge: a model rates each step's task, tool and result, and the final answer, 1–5.

One call per trajectory, under a schema with exactly one entry per step, so the ratings
always line up with the steps. The model writes a short explanation before each score
(reason, then decide); the ratings are returned in `schemas.rating`, the schema the atlas
judge uses too, so evals and dataset filtering treat both judges alike. A run without a
final answer gets answer score 1, whatever the model says: there is nothing to rate.
"""

from typing import Protocol

from pydantic import BaseModel, Field, conlist, create_model

from models.chat_model import ChatModel
from schemas.chat import system, user
from schemas.rating import Rating, Score, StepRating, TrajectoryRating
from schemas.request import Request
from schemas.trajectory import Scratchpad, Trajectory


class Judge(Protocol):
    """What rates a trajectory: `LLMJudge` here, or the atlas world's programmatic judge
    (`tools.atlas.judge.AtlasJudge`, which cannot import this and matches it by shape)."""

    name: str

    def judge(self, request: Request, trajectory: Trajectory) -> TrajectoryRating: ...


EXPLANATION_MAX = 120  # a sentence; short keeps small judges from rambling

JUDGE_SYSTEM = """\
You judge the work of a planning agent. For each step it wrote a task and chose a tool;
the tool returned a result. Rate with a score from 1 (very bad) to 5 (excellent):
- task: is it the right next step for the request, clear and complete for the tool?
- tool: is it the right tool for that task?
- result: did the tool return what the task asked for?
- answer: does the final answer fulfil the request, correctly and completely?
Write a short explanation before each score."""

JUDGE_USER = """\
Request: {request}

Steps:
{steps}

Final answer: {answer}"""


class ShortRating(BaseModel):
    explanation: str = Field(max_length=EXPLANATION_MAX)
    score: Score

    def rating(self) -> Rating:
        return Rating(explanation=self.explanation, score=self.score)


class ShortStepRating(BaseModel):
    task: ShortRating
    tool: ShortRating
    result: ShortRating


def verdict_model(steps: int) -> type[BaseModel]:
    """What the judge writes for a trajectory of `steps` steps: that many step ratings."""
    return create_model(
        "Verdict",
        steps=(conlist(ShortStepRating, min_length=steps, max_length=steps), ...),
        answer=(ShortRating, ...),
    )


class LLMJudge:
    def __init__(self, model: ChatModel, *, max_tokens_per_rating: int = 80) -> None:
        self.model = model
        self.name = f"llm:{model.name}"
        self.max_tokens_per_rating = max_tokens_per_rating

    def judge(self, request: Request, trajectory: Trajectory) -> TrajectoryRating:
        """Raises the model's CompletionError (a WaypointError) if no valid verdict comes."""
        verdict_class = verdict_model(len(trajectory.steps))
        prompt = JUDGE_USER.format(
            request=request.text,
            steps=Scratchpad(steps=trajectory.steps).render(),
            answer=trajectory.answer or "(none)",
        )
        completion = self.model.complete(
            [system(JUDGE_SYSTEM), user(prompt)],
            schema=verdict_class,
            max_tokens=self.max_tokens_per_rating * (3 * len(trajectory.steps) + 1) + 32,
        )
        verdict = completion.parsed
        answer = verdict.answer.rating()
        if trajectory.answer is None:
            answer = Rating(explanation=f"no final answer ({trajectory.status})", score=1)
        return TrajectoryRating(
            request_id=trajectory.request_id,
            steps=[
                StepRating(task=s.task.rating(), tool=s.tool.rating(), result=s.result.rating())
                for s in verdict.steps
            ],
            answer=answer,
            judge=self.name,
        )
