"""`create_event`: derive title, date, time and duration from the task; write the event as an
.ics file into the calendar folder, which any calendar application can import."""

import datetime as dt
from pathlib import Path
from typing import Self

from pydantic import BaseModel, Field

from models.chat_model import ChatModel
from schemas.trajectory import Scratchpad
from tools import prompts
from tools.base import Observation, Tool
from tools.context import ToolContext
from tools.files import write_new
from tools.function_calling import derive_arguments
from tools.ics import event_ics


class Event(BaseModel):
    title: str = Field(min_length=1, max_length=100, description="what the event is")
    date: dt.date = Field(description="the day, YYYY-MM-DD")
    start_time: str = Field(
        pattern=r"^([01][0-9]|2[0-3]):[0-5][0-9]$", description="when it starts, HH:MM"
    )
    duration_minutes: int = Field(ge=5, le=1440, description="how long it lasts, in minutes")
    location: str = Field(max_length=100, description="where it takes place, or empty")

    @property
    def start(self) -> dt.datetime:
        return dt.datetime.combine(self.date, dt.time.fromisoformat(self.start_time))


class CreateEvent(Tool):
    name = "create_event"
    description = "Creates a calendar event; the task gives what, the date, the time and how long."

    def __init__(self, model: ChatModel, calendar: Path) -> None:
        self.model = model
        self.calendar = calendar

    @classmethod
    def from_context(cls, context: ToolContext) -> Self:
        return cls(context.require_model(cls.name), context.home / "calendar")

    def run(self, request: str, task: str, scratchpad: Scratchpad) -> Observation:
        today = dt.date.today()
        event = derive_arguments(
            self.model, Event, tool=self.name, description=self.description,
            request=request, task=task, scratchpad=scratchpad, max_tokens=160,
            notes=prompts.EVENT_NOTES.format(today=f"{today:%A} {today.isoformat()}"),
        )  # fmt: skip
        end = event.start + dt.timedelta(minutes=event.duration_minutes)
        ics = event_ics(event.title, event.start, end, location=event.location, description=task)
        path = write_new(self.calendar, event.title, ".ics", ics)
        return Observation(
            text=f"Event {event.title!r} on {event.date} at {event.start_time} "
            f"for {event.duration_minutes} minutes saved to the calendar: {path}"
        )
