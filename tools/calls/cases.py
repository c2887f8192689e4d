"""Function-calling cases for waypoint's own tools: a task in free wording, its context and
its intent, drawn from an atlas world.

A case is what the planner hands a tool when the tool's rules cannot read the task: dates
in words, numbers in words, "e-mail her that …" with the address in an earlier result,
arithmetic described rather than written out. The wordings are split like the atlas
requests' (`tools.atlas.wording`): held-out templates never appear in training data, and a
held-out set comes from another world (other names, addresses, numbers), so a trained tool
caller is measured on what it never saw.
"""

import datetime as dt
import random
from collections.abc import Callable, Sequence
from typing import Any, Literal

from num2words import num2words
from pydantic import BaseModel, Field

from schemas.plan import PlanRecord
from schemas.trajectory import Scratchpad, Step
from tools.arithmetic import evaluate
from tools.atlas.requests import MESSAGES
from tools.atlas.wording import Phrasings, Split, voice
from tools.atlas.world import Entity, World, article_text
from tools.calls.intents import EmailIntent, EventIntent, Intent, NumberIntent

ToolName = Literal["send_email", "create_event", "calculate", "convert_units"]
TOOLS: tuple[ToolName, ...] = ("send_email", "create_event", "calculate", "convert_units")


class Case(BaseModel):
    id: str
    tool: ToolName
    request: str = Field(description="what the user asked the agent")
    task: str = Field(description="what the planner asks the tool")
    scratchpad: Scratchpad = Field(default_factory=Scratchpad)
    intent: Intent
    call: dict[str, Any] = Field(description="arguments that carry the intent out")
    keys: list[str] = Field(description="what any wording of the task must keep")
    phrasing: str
    heldout: bool


EMAIL = Phrasings(
    "email",
    ("Write to {name} at {address} and tell them {message}", "Let {address} know {message}",
     "Drop {name} ({address}) a line: {message}", "E-mail {address}: {message}",
     "Send {name} a note at {address} to say {message}", "Inform {name} <{address}> {message}",
     "E-mail {name} that {message}", "Write to {name} saying {message}"),
    ("Shoot {address} a message that {message}", "Notify {name} at {address} that {message}",
     "Let {name} know by e-mail that {message}"),
)  # fmt: skip
EVENT = Phrasings(
    "event",
    ("Put {title} in the calendar for {date}{time}{place}",
     "Add {title} to my calendar on {date}{time}{place}", "Schedule {title}: {date}{time}{place}",
     "Save {date}{time} for {title}{place}", "Create an entry for {title}, {date}{time}{place}",
     "Note {title} on {date}{time}{place}", "Enter {title}{place} in my diary: {date}{time}",
     "I have {title} on {date}{time}{place}, add it", "Calendar: {title}, {date}{time}{place}"),
    ("Block {date}{time} in the calendar for {title}{place}",
     "Remind me of {title} on {date}{time}{place} with a calendar entry"),
)  # fmt: skip
DATES = Phrasings(
    "date",
    ("{month} {day}, {year}", "{day} {month} {year}", "the {nth} of {month} {year}",
     "{month} {nth}, {year}", "{weekday} {day} {month} {year}",
     "{weekday} the {nth} of {month} {year}", "{day}. {month} {year}"),
    ("{weekday}, {month} {day} {year}", "{nth} {month} {year}"),
)  # fmt: skip
TIMES = Phrasings(
    "time",
    ("at {h12} {ampm}", "at {hhmm}", "from {h12}:{mm} {ampm}", "at {h12}{ampm}", "from {hhmm}",
     "around {h12}:{mm} {ampm}", "by {h12} {ampm}"),
    ("starting {h12}:{mm}{ampm}",),
)  # fmt: skip
CALCULATION = Phrasings(
    "calculation",
    ("the product of {a} and {b}|{x}*{y}", "{a} times {b}|{x}*{y}",
     "the sum of {a} and {b}|{x}+{y}", "{a} minus {b}|{x}-{y}", "{a} divided by {b}|{x}/{y}",
     "{p} percent of {a}|{x}*{q}/100",
     "the difference between {a} and {b}|{x}-{y}", "the average of {a} and {b}|({x}+{y})/2",
     "{a} squared|{x}**2", "twice {a}|2*{x}", "half of {a}|{x}/2",
     "Add up the {attr} of the two|{u}+{v}", "How much larger is the first {attr}|{u}-{v}",
     "subtract {b} from {a}|{x}-{y}", "take {b} from {a}|{x}-{y}",
     "{b} subtracted from {a}|{x}-{y}", "divide {a} by {b}|{x}/{y}", "{a} plus {b}|{x}+{y}",
     "Total the two {attr}s|{u}+{v}", "Put both {attr}s together|{u}+{v}",
     "Sum the {attr} of both|{u}+{v}", "Subtract the second {attr} from the first|{u}-{v}",
     "deduct {b} from {a}|{x}-{y}", "{b} taken away from {a}|{x}-{y}",
     "remove {b} from {a}|{x}-{y}"),
    ("{a} multiplied by {b}|{x}*{y}", "what {a} and {b} add up to|{x}+{y}",
     "{b} less than {a}|{x}-{y}", "Combine the two {attr}s|{u}+{v}"),
)  # fmt: skip
CONVERSION = Phrasings(
    "conversion",
    ("Convert {a} {src} to {dst}", "How many {dst} are {a} {src}?", "{a} {src} in {dst}",
     "Express {a} {src} in {dst}"),
    ("What is {a} {src} when measured in {dst}?", "Turn {a} {src} into {dst}"),
)  # fmt: skip
# unit names as people write them → as the conversion tool names them (tools.convert_units)
UNITS = {
    "metres": "meter", "feet": "foot", "kilometres": "kilometer", "miles": "mile",
    "kilograms": "kilogram", "pounds": "pound", "litres": "liter", "gallons": "gallon",
    "inches": "inch", "centimetres": "centimeter", "hours": "hour", "minutes": "minute",
}  # fmt: skip
PAIRS = (("metres", "feet"), ("kilometres", "miles"), ("kilograms", "pounds"),
         ("litres", "gallons"), ("inches", "centimetres"), ("hours", "minutes"),
         ("miles", "kilometres"), ("feet", "metres"), ("pounds", "kilograms"))  # fmt: skip


def make_cases(
    world: World, count: int, split: Split, tools: Sequence[ToolName] = TOOLS[:3]
) -> list[Case]:
    """`count` cases, the tools taking turns; the same arguments give the same cases."""
    cases = []
    for i in range(count):
        tool = tools[i % len(tools)]
        rng = random.Random(f"calls:{world.seed}:{split}:{i}")
        cases.append(_MAKERS[tool](world, rng, split, f"{tool}-{world.seed}-{i}"))
    return cases


def _email(world: World, rng: random.Random, split: Split, case_id: str) -> Case:
    person = rng.choice(world.people)
    message = rng.choice(MESSAGES)
    template, phrasing = EMAIL.pick(rng, split)
    task = template.format(name=person.name, address=person.email, message=message)
    scratchpad = Scratchpad()
    if "{address}" not in template:  # the address comes from an earlier search
        scratchpad = _searched(person)
    request = f"Tell {person.name} by e-mail that {message}."
    subject = sentence(" ".join(message.split()[:6]))
    return Case(
        id=case_id, tool="send_email", request=request,
        task=_voiced(task, rng, split, person.name, person.email, message),
        scratchpad=scratchpad, intent=EmailIntent(to=person.email, message=message),
        call={"to": person.email, "subject": subject, "body": sentence(message) + "."},
        keys=[person.name if scratchpad.steps else person.email, message],
        phrasing=phrasing, heldout=EMAIL.is_heldout(phrasing),
    )  # fmt: skip


def _event(world: World, rng: random.Random, split: Split, case_id: str) -> Case:
    event = rng.choice(world.events)
    date = dt.date.fromisoformat(event.date)
    timed = rng.random() < 0.7
    hour, minute = rng.randrange(8, 20), rng.choice((0, 0, 15, 30, 45))
    template, phrasing = EVENT.pick(rng, split)
    date_words, _ = DATES.pick(rng, split)
    time_words, _ = TIMES.pick(rng, split)
    placed = rng.random() < 0.5
    written = _date_words(date_words, date)
    at = _time_words(time_words, hour, minute)  # "at 4:15 pm"
    task = template.format(
        title=f"the {event.name}",
        date=written,
        time=" " + at if timed else "",
        place=f" in {event.city}" if placed else "",
    )
    intent = EventIntent(
        title=event.name, date=date, start_time=f"{hour:02d}:{minute:02d}" if timed else None,
        location=event.city if placed else None,
    )  # fmt: skip
    start = at.partition(" ")[2] if timed else "09:00"  # as written: the tool reads "4:15 pm"
    call = {
        "title": event.name, "date": event.date, "start_time": start,
        "duration_minutes": 60, "location": intent.location or "",
    }  # fmt: skip
    return Case(
        id=case_id, tool="create_event", request=f"Put the {event.name} in my calendar.",
        task=_voiced(task, rng, split, event.name, event.city, written), intent=intent, call=call,
        keys=[event.name, written], phrasing=phrasing, heldout=EVENT.is_heldout(phrasing),
    )  # fmt: skip


def _calculation(world: World, rng: random.Random, split: Split, case_id: str) -> Case:
    template, phrasing = CALCULATION.pick(rng, split)
    words, expression = template.split("|")
    x, y = rng.randrange(12, 999), rng.randrange(2, 99)
    p = rng.choice((5, 10, 15, 20, 25, 40, 75))
    first, second = rng.sample(world.cities, 2)
    u, v = first.population, second.population
    a, b = _number_words(x, rng), _number_words(y, rng)
    task = words.format(a=a, b=b, p=p, attr="population")
    searched = "{u}" in expression  # the numbers are in the two cities' articles
    expression = expression.format(x=x, y=y, q=p, u=u, v=v)
    value = evaluate(expression)
    keys = [w for w, field in ((a, "{a}"), (b, "{b}"), ("population", "{attr}")) if field in words]
    scratchpad = _searched(first, second) if searched else Scratchpad()
    request = sentence(task) + (f": {first.name} and {second.name}." if searched else "?")
    return Case(
        id=case_id, tool="calculate", request=request, task=_voiced(task, rng, split, *keys),
        scratchpad=scratchpad, intent=NumberIntent(value=value),
        call={"expression": expression}, keys=keys, phrasing=phrasing,
        heldout=CALCULATION.is_heldout(phrasing),
    )  # fmt: skip


def _conversion(world: World, rng: random.Random, split: Split, case_id: str) -> Case:
    from tools.units import convert

    template, phrasing = CONVERSION.pick(rng, split)
    src, dst = rng.choice(PAIRS)
    amount = rng.choice((rng.randrange(2, 500), round(rng.uniform(1, 100), 1)))
    written = _number_words(amount, rng)
    task = template.format(a=written, src=src, dst=dst)
    value = convert(amount, UNITS[src], UNITS[dst])
    return Case(
        id=case_id, tool="convert_units", request=sentence(task),
        task=_voiced(task, rng, split, written, src, dst),
        intent=NumberIntent(value=value, tolerance=0.005),
        call={"value": amount, "unit": UNITS[src], "to": UNITS[dst]},
        keys=[written, src, dst], phrasing=phrasing, heldout=CONVERSION.is_heldout(phrasing),
    )  # fmt: skip


_MAKERS: dict[ToolName, Callable[[World, random.Random, Split, str], Case]] = {
    "send_email": _email, "create_event": _event, "calculate": _calculation,
    "convert_units": _conversion,
}  # fmt: skip


def _searched(*entities: Entity) -> Scratchpad:
    """Earlier steps that looked the entities up: their articles as the search quoted them."""
    steps = []
    for entity in entities:
        text = article_text(entity, random.Random(entity.name))
        plan = PlanRecord(
            context="", thoughts="", task=f"Look up {entity.name}", tool="search_wikipedia"
        )
        steps.append(Step(plan=plan, observation=f"{entity.name}: {text}"))
    return Scratchpad(steps=steps)


def _voiced(task: str, rng: random.Random, split: Split, *names: str) -> str:
    """`task` with the slips people make, none inside `names` (what the task must keep)."""
    return voice(task[:1].upper() + task[1:], rng, split, names, polite=False)


def sentence(text: str) -> str:
    return text[:1].upper() + text[1:]


def _number_words(n: float, rng: random.Random) -> str:
    """A number as digits, or in words half of the time (whole numbers below 1000)."""
    if isinstance(n, int) and n < 1000 and rng.random() < 0.5:
        return num2words(n)
    return str(n)


def _date_words(template: str, date: dt.date) -> str:
    return template.format(
        month=f"{date:%B}", day=date.day, year=date.year, weekday=f"{date:%A}",
        nth=num2words(date.day, to="ordinal_num"),
    )  # fmt: skip


def _time_words(template: str, hour: int, minute: int) -> str:
    h12 = hour % 12 or 12
    return template.format(
        h12=h12 if minute == 0 or "{mm}" in template else f"{h12}:{minute:02d}",
        mm=f"{minute:02d}", ampm="am" if hour < 12 else "pm", hhmm=f"{hour:02d}:{minute:02d}",
    )  # fmt: skip
