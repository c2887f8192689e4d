"""`create_event`: title, date, time, duration and place from the task; the event is written
as an .ics file into the calendar folder, which any calendar application can import.

A task that spells the event out ("Create a calendar event for the Vora Summit on
2027-05-14 at 10:00 in Kelo") is read with fixed rules; any other task goes to the tool's
model under the `Event` grammar. The rules are the ones the simulated worlds use, and their
judges read the event back with them.
"""

import datetime as dt
import re
from pathlib import Path
from typing import Self

from pydantic import BaseModel, Field, ValidationError, field_validator

from models.chat_model import ChatModel
from schemas.errors import validation_problem
from schemas.trajectory import Scratchpad
from tools import prompts
from tools.base import Observation, ToolError
from tools.context import ToolContext
from tools.files import write_new
from tools.function_calling import ArgumentTool
from tools.ics import event_ics

_DATE = re.compile(r"\b\d{4}-\d{2}-\d{2}\b")
_TITLE = re.compile(r"\b(?:for|called|named)\s+(?P<title>.+?)\s+on\s*$", re.I)
_PLACE = re.compile(r"^\s*in\s+(?P<place>[^.,;]+)", re.I)
DEFAULT_START, DEFAULT_MINUTES = "09:00", 60
_CLOCK = r"([01][0-9]|2[0-3]):[0-5][0-9]"
_TWELVE_HOUR = re.compile(r"(1[0-2]|0?[1-9])(:([0-5][0-9]))? ?([ap]m)")  # hour, minute, am/pm
_TIME = re.compile(
    rf"^\s*(?:at|from)\s+(?P<time>{_TWELVE_HOUR.pattern}|([01]?[0-9]|2[0-3]):[0-5][0-9])\b", re.I
)


class Event(BaseModel):
    title: str = Field(min_length=1, max_length=100, description="what the event is")
    date: dt.date = Field(description="the day, YYYY-MM-DD")
    start_time: str = Field(
        pattern=rf"^({_CLOCK}|{_TWELVE_HOUR.pattern})$",
        description="when it starts, HH:MM, or as written with am/pm (6:30 pm)",
    )
    duration_minutes: int = Field(ge=5, le=1440, description="how long it lasts, in minutes")
    location: str = Field(max_length=100, description="where it takes place, or empty")

    @field_validator("start_time", mode="before")
    @classmethod
    def _on_a_24_hour_clock(cls, value: object) -> object:
        """A 12-hour time as 24-hour HH:MM ("6:30 PM" → 18:30, "9:00" → 09:00), before the
        pattern is checked: a small model copies a time from the task far more reliably than
        it adds 12."""
        if not isinstance(value, str):
            return value
        if (twelve := _TWELVE_HOUR.fullmatch(value.lower())) is None:
            return value.zfill(5)
        hour, _, minute, half = twelve.groups()
        return f"{int(hour) % 12 + (12 if half == 'pm' else 0):02d}:{minute or '00'}"

    @property
    def start(self) -> dt.datetime:
        return dt.datetime.combine(self.date, dt.time.fromisoformat(self.start_time))


def parse_event(task: str) -> Event:
    """Date: the first YYYY-MM-DD; title: what stands before " on <date>" (after "for",
    "called" or "named" where present); time: "at HH:MM" or "at 6:30 pm" after the date (else
    09:00); place: the words after "in" that follow. ToolError when the task gives no date or
    no title."""
    found = _DATE.search(task)
    if found is None:
        raise ToolError("the task names no date in the form YYYY-MM-DD")
    before, rest = task[: found.start()], task[found.end() :]
    titled = _TITLE.search(before)
    title = titled.group("title") if titled else re.sub(r"\s+on\s*$", "", before, flags=re.I)
    title = title.strip().strip("'\"").removeprefix("the ").strip()
    if not title:
        raise ToolError("the task does not say what the event is")
    timed = _TIME.match(rest)
    if timed:
        rest = rest[timed.end() :]
    placed = _PLACE.match(rest)
    try:
        return Event(
            title=title,
            date=dt.date.fromisoformat(found.group()),
            start_time=timed.group("time") if timed else DEFAULT_START,
            duration_minutes=DEFAULT_MINUTES,
            location=placed.group("place").strip() if placed else "",
        )
    except ValidationError as e:
        raise ToolError(f"cannot create this event: {validation_problem(e)}") from e


class CreateEvent(ArgumentTool):
    name = "create_event"
    argument_schema = Event
    argument_tokens = 160
    description = (
        "Creates a calendar event; the task gives what, the date (YYYY-MM-DD) and, where "
        "known, the time and the place."
    )

    def __init__(self, model: ChatModel | None = None, calendar: Path | None = None) -> None:
        """`model` derives an event from a task the rules cannot read; without `calendar`
        (a simulation) the event is only reported, never written."""
        self.model = model
        self.calendar = calendar

    @classmethod
    def from_context(cls, context: ToolContext) -> Self:
        return cls(context.model, context.home / "calendar")

    def run(self, request: str, task: str, scratchpad: Scratchpad) -> Observation:
        try:
            event = parse_event(task)
        except ToolError:
            if self.model is None:
                raise
            event = self.derive(request, task, scratchpad)
        return self.execute(event, task)

    def argument_notes(self) -> str:
        today = dt.date.today()
        return prompts.EVENT_NOTES.format(today=f"{today:%A} {today.isoformat()}")

    def execute(self, event: Event, task: str = "") -> Observation:
        """Write the event; `task`, where given, becomes its description."""
        where = f" in {event.location}" if event.location else ""
        when = f"{event.date} at {event.start_time}"
        text = f"Event '{event.title}' on {when}{where} is in the calendar."
        if self.calendar is not None:
            end = event.start + dt.timedelta(minutes=event.duration_minutes)
            ics = event_ics(
                event.title, event.start, end, location=event.location, description=task
            )
            text += f" ({write_new(self.calendar, event.title, '.ics', ics)})"
        return Observation(text=text)
