"""The programmatic judge of the atlas world: every step and the final answer rated 1–5.

It rates against the request's gold solution, in any order the planner chooses: a step
that does what a still-open gold step needs (searches the entity it names, computes its
result, asks the user about its topic, sends to its address, books its date, gives the
right answer) scores 5 on task and tool; a step with a needed tool but the wrong task
scores task 2 / tool 4; an unneeded or repeated step scores 2 / 2. A calculate step whose
result is a needed value, worked out by the calculator from the request in place of a wrong
task, scores task 2 and establishes the value. Results are 5 when they hold what the gold
step needed, 2 when not, 1 when the tool failed. The answer is 5 when it gives the gold
answer (a comparison's winner before the loser; "-741" does not give 741) after the steps
that establish it, 3 when it is right but guessed before them, 1 when wrong; for actions, 5
when the action was carried out as asked, else 2. Ratings use `schemas.rating`, like the
LLM judge.
"""

import re

from schemas.errors import WaypointError
from schemas.rating import Rating, StepRating, TrajectoryRating
from schemas.request import Gold, Request
from schemas.trajectory import Step, Trajectory
from tools.arithmetic import THOUSANDS
from tools.atlas.requests import AtlasRequest, GoldStep
from tools.atlas.user import question_topic
from tools.base import ToolError
from tools.calculate import work_out
from tools.create_event import parse_event
from tools.send_email import parse_email

_WORDS = re.compile(r"[a-z0-9@._-]+")


def normalize(text: str) -> str:
    return " ".join(_WORDS.findall(THOUSANDS.sub("", text.lower())))


def mentions(text: str, needle: str) -> int:
    """Where `needle` stands in `text` as whole words (numbers never inside other numbers,
    and a number never as the absolute value of a negative one: "-741" is not "741"), or -1."""
    signed = r"(?<!(?<!\w)-)" if needle[:1].isdigit() else ""
    pattern = rf"(?<![\w.]){signed}{re.escape(normalize(needle))}(?![\w])"
    found = re.search(pattern, normalize(text))
    return found.start() if found else -1


def answer_is_right(request: AtlasRequest, answer: str) -> bool:
    gold = request.gold.answer if request.gold else None
    if gold is None:
        return False
    at = mentions(answer, gold)
    rival_at = mentions(answer, request.rival) if request.rival else -1
    return at >= 0 and (rival_at < 0 or at < rival_at)


def does(request: AtlasRequest, gold: GoldStep, task: str) -> bool:
    """Whether `task`, given to the gold step's tool, does what the gold step needs."""
    action = request.gold.action if request.gold else None
    try:
        match gold.tool:
            case "search_wikipedia":
                return mentions(task, gold.key) >= 0
            case "calculate":
                worked = work_out(task)
                return worked is not None and worked.value == gold.key
            case "ask_user":
                return question_topic(task) == gold.key
            case "send_email":
                email = parse_email(task)
                body = action.arguments["body"] if action else ""
                return email.to == gold.key and normalize(body) in normalize(email.body)
            case "create_event":
                entry = parse_event(task)
                title = action.arguments["title"] if action else ""
                found = str(entry.date) == gold.key
                return found and normalize(title) in normalize(entry.title)
    except ToolError:
        return False
    return False


class AtlasJudge:
    name = "atlas"

    def judge(self, request: Request, trajectory: Trajectory) -> TrajectoryRating:
        if not isinstance(request, AtlasRequest):
            raise WaypointError(f"the atlas judge rates atlas requests only, not {request.id!r}")
        *work, last = request.solution
        open_steps = list(work)
        ratings = []
        for step in trajectory.steps:
            if step.plan.tool == last.tool:
                ratings.append(self._answer_step(request, step, not open_steps))
            else:
                ratings.append(self._work_step(request, step, open_steps))
        return TrajectoryRating(
            request_id=trajectory.request_id,
            steps=ratings,
            answer=self._answer(request, trajectory, not open_steps),
            judge=self.name,
        )

    def _work_step(
        self, request: AtlasRequest, step: Step, open_steps: list[GoldStep]
    ) -> StepRating:
        tool, task = step.plan.tool, step.plan.task
        gold = next((g for g in open_steps if g.tool == tool and does(request, g, task)), None)
        if gold is not None:
            open_steps.remove(gold)
            return StepRating(
                task=Rating(
                    explanation=f"the task does what the request needs ({gold.key})", score=5
                ),
                tool=Rating(explanation=f"{tool} is the right tool for it", score=5),
                result=_result(gold, step),
            )
        result = _failed(step) or Rating(explanation="a result the request does not need", score=3)
        if worked := _worked_out(step, open_steps):
            # the calculator computed the request's own calculation in place of the task's
            # (tools.calculate): the result is established, the task was still wrong
            open_steps.remove(worked)
            return StepRating(
                task=Rating(explanation=f"the task misses what is needed: {worked.key}", score=2),
                tool=Rating(explanation=f"{tool} is the right tool for it", score=5),
                result=Rating(explanation=f"the tool worked out {worked.key}", score=5),
            )
        if any(g.tool == tool for g in open_steps):
            needed = next(g for g in open_steps if g.tool == tool)
            return StepRating(
                task=Rating(explanation=f"the task misses what is needed: {needed.key}", score=2),
                tool=Rating(explanation=f"{tool} is needed, with another task", score=4),
                result=result,
            )
        return StepRating(
            task=Rating(explanation="the task does nothing the request still needs", score=2),
            tool=Rating(explanation=f"{tool} is not needed at this point", score=2),
            result=result,
        )

    @staticmethod
    def _answer_step(request: AtlasRequest, step: Step, ready: bool) -> StepRating:
        tool = ("time to answer", 5) if ready else ("answering before the needed steps", 2)
        return StepRating(
            task=_verdict(request, step.plan.task, ready),
            tool=Rating(explanation=tool[0], score=tool[1]),
            result=_failed(step) or Rating(explanation="the answer was given", score=5),
        )

    @staticmethod
    def _answer(request: AtlasRequest, trajectory: Trajectory, all_done: bool) -> Rating:
        if trajectory.answer is None:
            return Rating(explanation=f"no final answer ({trajectory.status})", score=1)
        return _verdict(request, trajectory.answer, all_done)


def _verdict(request: AtlasRequest, answer: str, ready: bool) -> Rating:
    """An answer given after the work (`ready`) or before it; an action request is answered
    well once its action was done as asked, whatever the words."""
    gold = request.gold or Gold()
    if gold.action is not None:
        done = "was carried out as asked" if ready else "was not carried out as asked"
        return Rating(explanation=f"{gold.action.tool} {done}", score=5 if ready else 2)
    if not answer_is_right(request, answer):
        return Rating(explanation=f"wrong answer; expected {gold.answer}", score=1)
    if not ready:
        return Rating(explanation="the right answer, but a guess: no step established it", score=3)
    return Rating(explanation=f"the answer gives {gold.answer}", score=5)


def _failed(step: Step) -> Rating | None:
    if step.error is None:
        return None
    return Rating(explanation=f"the tool failed: {step.error}"[:300], score=1)


def _worked_out(step: Step, open_steps: list[GoldStep]) -> GoldStep | None:
    """The open calculation whose value a calculate step's result states as its outcome
    ("431 days = 10344 hours" → 10344), whatever its task said."""
    if step.plan.tool != "calculate" or step.error is not None or " = " not in step.observation:
        return None
    outcome = step.observation.rpartition(" = ")[2]
    return next(
        (g for g in open_steps if g.tool == "calculate" and mentions(outcome, g.key) == 0), None
    )


def _result(gold: GoldStep, step: Step) -> Rating:
    if failed := _failed(step):
        return failed
    if gold.tool in ("search_wikipedia", "calculate") and mentions(step.observation, gold.key) < 0:
        return Rating(explanation=f"the result does not hold {gold.key}", score=2)
    return Rating(explanation="the result holds what was needed", score=5)
