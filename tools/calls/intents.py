"""What a tool call is meant to do, and whether an executed call did it.

An intent is the effect a task asks of a tool (this e-mail to this address, this event on
this day, this number), stated apart from any wording of the task. A call is judged by
executing it and reading back what the tool did: the .eml file in the outbox, the .ics
file in the calendar, the calculator's value, the server's answer. So a call is right when
its effect is, whatever the arguments looked like (`17*23` and `23 * 17` are both right).
"""

import datetime as dt
import email
import email.policy
import math
import re
from pathlib import Path
from typing import Annotated, Literal

from icalendar import Calendar
from pydantic import BaseModel, Field

from tools.atlas.judge import normalize

_WRITTEN = re.compile(r"\((?P<path>/[^()]+\.(?:eml|ics))\)\s*$")  # how action tools end
_NUMBER = re.compile(r"-?\d+(?:\.\d+)?(?:e[+-]?\d+)?")


class Verdict(BaseModel):
    ok: bool
    reason: str


class EmailIntent(BaseModel):
    kind: Literal["email"] = "email"
    to: str
    message: str = Field(description="what the body must say (compared word for word)")

    def judge(self, observation: str) -> Verdict:
        path = _written(observation, ".eml")
        if path is None:
            return Verdict(ok=False, reason="no e-mail was written")
        message = email.message_from_string(path.read_text(), policy=email.policy.default)
        to, body = str(message["To"]), message.get_content()
        if to.lower() != self.to.lower():
            return Verdict(ok=False, reason=f"the e-mail went to {to}, not to {self.to}")
        if normalize(self.message) not in normalize(body):
            return Verdict(ok=False, reason=f"the e-mail does not say {self.message!r}")
        return Verdict(ok=True, reason=f"the e-mail to {to} says {self.message!r}")


class EventIntent(BaseModel):
    kind: Literal["event"] = "event"
    title: str
    date: dt.date
    start_time: str | None = Field(None, description="HH:MM, when the task names a time")
    location: str | None = None

    def judge(self, observation: str) -> Verdict:
        path = _written(observation, ".ics")
        if path is None:
            return Verdict(ok=False, reason="no event was written")
        event = Calendar.from_ical(path.read_text()).walk("VEVENT")[0]
        start = event.decoded("DTSTART")
        title, place = str(event.get("SUMMARY", "")), str(event.get("LOCATION", ""))
        wrong = [
            f"the date is {start.date()}, not {self.date}" if start.date() != self.date else "",
            f"it starts at {start:%H:%M}, not {self.start_time}"
            if self.start_time and f"{start:%H:%M}" != self.start_time
            else "",
            f"the title {title!r} does not name {self.title!r}"
            if normalize(self.title) not in normalize(title)
            else "",
            f"the place {place!r} is not {self.location!r}"
            if self.location and normalize(self.location) not in normalize(place)
            else "",
        ]
        if reasons := [w for w in wrong if w]:
            return Verdict(ok=False, reason="; ".join(reasons))
        return Verdict(ok=True, reason=f"the event {title!r} is on {self.date}")


class NumberIntent(BaseModel):
    """A number the tool's answer must give: a calculation, or a conversion of units."""

    kind: Literal["number"] = "number"
    value: float
    tolerance: float = Field(1e-9, description="relative: 0.005 for values a server rounds")

    def judge(self, observation: str) -> Verdict:
        # The value is what follows the last "=" (the calculator) or " is " (a converter).
        tail = re.split(r"=| is ", observation)[-1].replace(",", "")
        found = _NUMBER.search(tail)
        if found is None:
            return Verdict(ok=False, reason=f"no number in {observation!r}")
        value = float(found.group())
        if math.isclose(value, self.value, rel_tol=self.tolerance, abs_tol=1e-9):
            return Verdict(ok=True, reason=f"the result is {value:g}")
        return Verdict(ok=False, reason=f"the result is {value:g}, not {self.value:g}")


Intent = Annotated[EmailIntent | EventIntent | NumberIntent, Field(discriminator="kind")]


def _written(observation: str, suffix: str) -> Path | None:
    found = _WRITTEN.search(observation)
    if found is None or not found.group("path").endswith(suffix):
        return None
    path = Path(found.group("path"))
    return path if path.is_file() else None
