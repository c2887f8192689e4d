"""The atlas tool set: the same names and descriptions as the real tools, deterministic work.

The planner is what the atlas world measures, so its tools never guess: search ranks the
world's articles, calculate is the real safe calculator, ask_user answers from the hidden
profile, send_email and create_event read their arguments from the task with fixed rules
(the judge reads them back with the same rules), final_answer returns the task as the
answer. Nothing is written to disk: each action is recorded in its observation, and so in
the trajectory.
"""

import re

from pydantic import BaseModel, ValidationError

from schemas.errors import validation_problem
from schemas.trajectory import Scratchpad
from tools.ask_user import AskUser
from tools.atlas.search import ArticleIndex
from tools.atlas.user import reply, user_profile
from tools.atlas.world import World
from tools.base import Observation, Tool, ToolError
from tools.calculate import Calculate
from tools.create_event import CreateEvent
from tools.final_answer import FinalAnswer
from tools.retrieval.embedder import Embedder
from tools.send_email import Email, SendEmail

_ADDRESS = re.compile(r"[A-Za-z0-9._+-]+@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)+")
_LEAD_IN = re.compile(r"^\s*(?:[:,-]\s*)?(?:saying\s+|telling\s+them\s+)?(?:that\s+|:\s*)?", re.I)
_DATE = re.compile(r"\b\d{4}-\d{2}-\d{2}\b")
_TITLE = re.compile(r"\b(?:for|called|named)\s+(?P<title>.+?)\s+on\s*$", re.I)
_PLACE = re.compile(r"^\s*in\s+(?P<place>[^.,;]+)", re.I)
SUBJECT_WORDS = 6


class AtlasSearch(Tool):
    name = "search"
    description = "Searches the encyclopedia and returns the article that best matches the task."

    def __init__(self, world: World, embedder: Embedder | None = None) -> None:
        self.index = ArticleIndex(world, embedder)

    def run(self, request: str, task: str, scratchpad: Scratchpad) -> Observation:
        if not task.strip():
            raise ToolError("the task is empty: say what to search for")
        return Observation(text=self.index.best(task.strip()).text)


class AtlasAskUser(Tool):
    name = AskUser.name
    description = AskUser.description

    def __init__(self, world: World) -> None:
        self.world = world

    def run(self, request: str, task: str, scratchpad: Scratchpad) -> Observation:
        return Observation(text=reply(user_profile(self.world, request), task))


def parse_email(task: str) -> Email:
    """Recipient: the first address in the task; body: what follows it ("saying that …")."""
    found = _ADDRESS.search(task)
    if found is None:
        raise ToolError("the task names no e-mail address: look the address up first")
    body = _LEAD_IN.sub("", task[found.end() :], count=1).strip().rstrip(".").strip()
    if not body:
        raise ToolError("the task does not say what the e-mail should say")
    subject = " ".join(body.split()[:SUBJECT_WORDS])
    try:
        return Email(to=found.group(), subject=subject[:1].upper() + subject[1:], body=body)
    except ValidationError as e:
        raise ToolError(f"cannot send this e-mail: {validation_problem(e)}") from e


class AtlasSendEmail(Tool):
    name = SendEmail.name
    description = SendEmail.description

    def run(self, request: str, task: str, scratchpad: Scratchpad) -> Observation:
        email = parse_email(task)
        return Observation(text=f"E-mail sent to {email.to} with the subject '{email.subject}'.")


class CalendarEntry(BaseModel):
    title: str
    date: str
    place: str


def parse_event(task: str) -> CalendarEntry:
    """Date: the first YYYY-MM-DD; title: what stands before " on <date>" (after "for",
    "called" or "named" where present); place: the words after "in" following the date."""
    found = _DATE.search(task)
    if found is None:
        raise ToolError("the task names no date in the form YYYY-MM-DD")
    before = task[: found.start()]
    titled = _TITLE.search(before)
    title = titled.group("title") if titled else re.sub(r"\s+on\s*$", "", before, flags=re.I)
    title = title.strip().strip("'\"").removeprefix("the ").strip()
    if not title:
        raise ToolError("the task does not say what the event is")
    placed = _PLACE.match(task[found.end() :])
    return CalendarEntry(
        title=title, date=found.group(), place=placed.group("place").strip() if placed else ""
    )


class AtlasCreateEvent(Tool):
    name = CreateEvent.name
    description = "Creates a calendar event; the task gives what, the date and the place."

    def run(self, request: str, task: str, scratchpad: Scratchpad) -> Observation:
        entry = parse_event(task)
        where = f" in {entry.place}" if entry.place else ""
        return Observation(
            text=f"Event '{entry.title}' on {entry.date}{where} added to the calendar."
        )


class AtlasFinalAnswer(Tool):
    name = FinalAnswer.name
    description = FinalAnswer.description

    def run(self, request: str, task: str, scratchpad: Scratchpad) -> Observation:
        if not task.strip():
            raise ToolError("the answer is empty")
        return Observation(text=task.strip(), final=True)


def atlas_tools(world: World, embedder: Embedder | None = None) -> list[Tool]:
    """The tool set of `world`, in the order the plan's tool enum lists them."""
    return [
        AtlasSearch(world, embedder),
        Calculate(),
        AtlasAskUser(world),
        AtlasSendEmail(),
        AtlasCreateEvent(),
        AtlasFinalAnswer(),
    ]


TOOL_CLASSES = (
    AtlasSearch,
    Calculate,
    AtlasAskUser,
    AtlasSendEmail,
    AtlasCreateEvent,
    AtlasFinalAnswer,
)
ATLAS_TOOL_NAMES = tuple(c.name for c in TOOL_CLASSES)
