"""A calendar event as an iCalendar (RFC 5545) document, the format every calendar imports,
written by the `icalendar` package: it escapes text values (a line break in a title becomes
`\\n`, never a new property) and folds long lines."""

import re
import uuid
from datetime import UTC, datetime

from icalendar import Calendar, Event

# RFC 5545 allows no control characters in text but tab and line breaks (which it escapes)
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")


def event_ics(
    title: str, start: datetime, end: datetime, location: str = "", description: str = ""
) -> str:
    """One VEVENT in a VCALENDAR; times are floating (the user's local time)."""
    event = Event()
    event.add("uid", f"{uuid.uuid4()}@waypoint")
    event.add("dtstamp", datetime.now(UTC))
    event.add("dtstart", start)
    event.add("dtend", end)
    event.add("summary", _text(title))
    if location:
        event.add("location", _text(location))
    if description:
        event.add("description", _text(description))
    calendar = Calendar()
    calendar.add("prodid", "-//waypoint//create_event//EN")
    calendar.add("version", "2.0")
    calendar.add_component(event)
    return calendar.to_ical().decode()


def _text(value: str) -> str:
    return _CONTROL.sub("", value)
