"""The programmatic judge of real-tool requests: the answer holds the known fact, or the
action left the right file behind.

Real-tool request sets (`evals/data/real_tools.jsonl`) are written by hand with their gold:
an answer (and other ways of writing it) or an action with its arguments. An answer is rated
5 when it names the gold answer (numbers compared without thousands separators), else 1. An
action is rated 5 when a file the tool wrote during the run is the action asked for (the
e-mail to that address saying that, the event on that date with that title), else 2. Steps
are rated against the gold tool sequence: a step with a tool the request still needs is 5,
any other 2; a step whose tool failed has result 1.
"""

import email
import email.policy
import re
from pathlib import Path

from schemas.errors import WaypointError
from schemas.rating import Rating, StepRating, TrajectoryRating
from schemas.request import GoldAction, Request
from schemas.trajectory import Step, Trajectory
from tools.atlas.judge import mentions, normalize

_WRITTEN = re.compile(r"\((?P<path>/[^()]+\.(?:eml|ics))\)\s*$")  # how action tools end


class CheckJudge:
    name = "check"

    def judge(self, request: Request, trajectory: Trajectory) -> TrajectoryRating:
        if request.gold is None or (request.gold.answer is None and request.gold.action is None):
            raise WaypointError(f"request {request.id} has no gold answer or action to check")
        needed = list(request.gold.tools)
        steps = [_rate_step(step, needed) for step in trajectory.steps]
        return TrajectoryRating(
            request_id=trajectory.request_id,
            steps=steps,
            answer=_rate_answer(request, trajectory),
            judge=self.name,
        )


def _rate_step(step: Step, needed: list[str]) -> StepRating:
    result = (
        Rating(explanation=f"the tool failed: {step.error}"[:300], score=1)
        if step.error
        else Rating(explanation="the tool returned a result", score=5)
    )
    if step.plan.tool in needed:
        needed.remove(step.plan.tool)
        good = Rating(explanation=f"{step.plan.tool} is a step the request needs", score=5)
        return StepRating(task=good, tool=good, result=result)
    bad = Rating(explanation=f"{step.plan.tool} is not needed (again) here", score=2)
    return StepRating(task=bad, tool=bad, result=result)


def _rate_answer(request: Request, trajectory: Trajectory) -> Rating:
    gold = request.gold
    assert gold is not None
    if trajectory.answer is None:
        return Rating(explanation=f"no final answer ({trajectory.status})", score=1)
    if gold.action is not None:
        if any(_did(gold.action, step) for step in trajectory.steps):
            return Rating(explanation=f"{gold.action.tool} was carried out as asked", score=5)
        return Rating(explanation=f"{gold.action.tool} was not carried out as asked", score=2)
    right = [a for a in [gold.answer or "", *gold.accept] if mentions(trajectory.answer, a) >= 0]
    if right:
        return Rating(explanation=f"the answer gives {right[0]}", score=5)
    return Rating(explanation=f"wrong answer; expected {gold.answer}", score=1)


def _did(action: GoldAction, step: Step) -> bool:
    """Whether `step` wrote the file `action` asks for."""
    written = _WRITTEN.search(step.observation)
    if step.plan.tool != action.tool or step.error or written is None:
        return False
    path = Path(written.group("path"))
    if not path.is_file():
        return False
    text = path.read_text(encoding="utf-8")
    if action.tool == "send_email":
        message = email.message_from_string(text, policy=email.policy.default)
        to_ok = str(message["To"]).lower() == action.arguments["to"].lower()
        return to_ok and normalize(action.arguments["body"]) in normalize(message.get_content())
    start = re.search(r"^DTSTART[^:]*:(\d{4})(\d{2})(\d{2})", text, re.MULTILINE)
    summary = re.search(r"^SUMMARY:(.*)$", text, re.MULTILINE)
    day = "-".join(start.groups()) if start else ""
    title = summary.group(1) if summary else ""
    return day == action.arguments["date"] and normalize(action.arguments["title"]) in normalize(
        title
    )
