"""Atlas requests: the shapes of what people ask a chat agent, worded many ways (some
wordings and one shape held out), with gold answers and actions and the expert's
step-by-step solution of every request.

The solution is written down when the request is made, because the world is deterministic:
each gold step names its tool, its task (one wording per kind of step, so a small planner
can learn it), the fact its observation adds, and the `key` the judge checks (an entity's
coded word, a result, a topic, an address, a date or the answer).
"""

import random
from collections.abc import Callable
from typing import NamedTuple

from pydantic import BaseModel, Field

from schemas.errors import WaypointError
from schemas.plan import PlanRecord
from schemas.request import Gold, GoldAction, Request
from schemas.trajectory import Exchange
from tools.atlas.attributes import ATTRS, COMPARISONS, DIFFERENCES, GENERIC, SUMS, Attr, attr
from tools.atlas.names import SYLLABLES
from tools.atlas.user import Topic, user_profile
from tools.atlas.wording import Phrasings, Split, voice
from tools.atlas.world import Entity, World, coded_word, shown
from tools.create_event import parse_event

PhrasingSplit = Split
NOTHING_YET = "Nothing is known yet."
DONE = "I have everything the request needs."


class GoldStep(BaseModel):
    tool: str
    task: str
    thoughts: str
    learned: str = Field(description="the fact this step's observation adds to the context")
    key: str = Field(description="what the judge checks this step against")


class AtlasRequest(Request):
    source: str = "atlas"
    world_seed: int
    phrasing: str = Field(description="template family and index, e.g. 'question/2'")
    heldout: bool = Field(description="a held-out wording or shape: never in training")
    rival: str | None = Field(None, description="comparisons: the loser, not to be named first")
    solution: list[GoldStep]

    def plans(self) -> list[PlanRecord]:
        """The expert's plans: the context of each step holds what earlier steps learned."""
        plans, known = [], []
        for step in self.solution:
            context = " ".join(known) or NOTHING_YET
            plans.append(
                PlanRecord(context=context, thoughts=step.thoughts, task=step.task, tool=step.tool)
            )
            if step.learned:
                known.append(step.learned)
        return plans


MESSAGES = (
    "the meeting moves to Friday", "the report is ready", "I will be late tomorrow",
    "the contract was signed", "lunch is at noon", "the budget was approved",
    "the workshop is cancelled", "the samples arrived", "the invoice was paid",
    "the demo went well", "the office is closed on Monday", "the new schedule is online",
)  # fmt: skip


# ---- wording shared by all shapes -------------------------------------------------------


_WITH_ARTICLE = ("event", "river", "tower", "invention", "species")  # "the Kobe Engine"


def mention(entity: Entity) -> str:
    return f"the {entity.name}" if entity.kind in _WITH_ARTICLE else entity.name


def sentence(text: str) -> str:
    return text[:1].upper() + text[1:]


def value_of(entity: Entity, a: Attr) -> str:
    """The fact as its article writes it (digits grouped where the article groups them)."""
    return shown(entity, getattr(entity, a.field))


def bare(value: str) -> str:
    """A number without its thousands separators, as the judge and the calculator read it."""
    return value.replace(",", "")


def fact(entity: Entity, a: Attr, subject: str | None = None) -> str:
    """`The height of Mount Kobe is 4,512 metres.`"""
    return sentence(f"{a.noun} of {subject or mention(entity)} is {value_of(entity, a)}{a.unit}.")


def question(rng: random.Random, split: Split, a: Attr, x: str) -> tuple[str, str]:
    """A question about attribute `a` of `x`: its own wordings or the generic ones."""
    family = a.questions if a.questions and rng.random() < 0.6 else GENERIC
    template, phrasing = family.pick(rng, split)
    return template.format(x=x, noun=a.noun), phrasing


# ---- gold steps -------------------------------------------------------------------------


def search(entity: Entity, a: Attr, goal: str = "") -> GoldStep:
    """`goal`: what the fact is for, when the request needs more than the fact ("for the
    sum"). Said at every step, it carries the request's intent to the step that acts on it,
    so a small planner decides once, next to the request, what the last steps will be."""
    noun = f"{a.noun} of {mention(entity)}"
    return GoldStep(
        tool="search_wikipedia",
        task=sentence(f"Find {noun}."),
        thoughts=f"I need {noun}{goal}.",
        learned=fact(entity, a),
        key=coded_word(entity),
    )


def final(answer: str, key: str, why: str = DONE) -> GoldStep:
    """`key`: the gold answer; empty after an action, where the judge checks the action."""
    return GoldStep(tool="final_answer", task=answer, thoughts=why, learned="", key=key)


def calculate(expression: str, result: str, why: str) -> GoldStep:
    return GoldStep(
        tool="calculate",
        task=f"Calculate {expression}.",
        thoughts=why,
        learned=f"{expression} = {result}.",
        key=result,
    )


def send(address: str, message: str) -> GoldStep:
    return GoldStep(
        tool="send_email",
        task=f"Send an e-mail to {address} saying that {message}.",
        thoughts="I have the address, so I can send the e-mail.",
        learned=f"The e-mail to {address} was sent.",
        key=address,
    )


def ask(topic: Topic, question_text: str, learned: str) -> GoldStep:
    return GoldStep(
        tool="ask_user",
        task=question_text,
        thoughts="Only the user can tell me this.",
        learned=learned,
        key=topic,
    )


def create(title: str, date: str, where: str = "", time: str = "") -> GoldStep:
    at = f" at {time}" if time else ""
    place = f" in {where}" if where else ""
    return GoldStep(
        tool="create_event",
        task=f"Create a calendar event for {title} on {date}{at}{place}.",
        thoughts="I have the date, so I can create the event.",
        learned=f"The event is in the calendar on {date}.",
        key=date,
    )


# ---- the shapes -------------------------------------------------------------------------


class Built(NamedTuple):
    text: str
    phrasing: str
    steps: list[GoldStep]
    answer: str | None = None
    action: GoldAction | None = None
    rival: str | None = None
    history: tuple[Exchange, ...] = ()


Shape = Callable[[World, random.Random, Split], Built]


def lookup(world: World, rng: random.Random, split: Split) -> Built:
    entity = rng.choice(world.entities())
    a = rng.choice([a for a in ATTRS if a.kind == entity.kind])
    core, phrasing = question(rng, split, a, mention(entity))
    value = value_of(entity, a)
    steps = [search(entity, a), final(fact(entity, a), bare(value))]
    return Built(voice(sentence(core), rng, split, [entity.name]), phrasing, steps, bare(value))


def multihop(world: World, rng: random.Random, split: Split) -> Built:
    relation = rng.choice([a for a in ATTRS if a.target])
    entity = rng.choice([e for e in world.entities() if e.kind == relation.kind])
    hop = world.entity(value_of(entity, relation))
    a = rng.choice([a for a in ATTRS if a.kind == hop.kind and not a.target])
    core, phrasing = question(rng, split, a, f"{relation.noun} of {mention(entity)}")
    value = value_of(hop, a)
    steps = [
        search(entity, relation, f" to find {a.noun} next"),
        search(hop, a),
        final(fact(hop, a), bare(value)),
    ]
    return Built(voice(sentence(core), rng, split, [entity.name]), phrasing, steps, bare(value))


def comparison(world: World, rng: random.Random, split: Split) -> Built:
    c = rng.choice(COMPARISONS)
    pool = [e for e in world.entities() if e.kind == c.attr.kind]
    first, second = rng.sample(pool, 2)
    while getattr(first, c.attr.field) == getattr(second, c.attr.field):
        first, second = rng.sample(pool, 2)
    high_first = getattr(first, c.attr.field) > getattr(second, c.attr.field)
    winner, loser = (first, second) if high_first == c.highest_wins else (second, first)
    template, phrasing = c.questions.pick(rng, split)
    core = sentence(template.format(a=mention(first), b=mention(second)))
    answer = sentence(
        c.verdict.format(
            w=mention(winner), l=mention(loser),
            vw=value_of(winner, c.attr), vl=value_of(loser, c.attr),
        )
    )  # fmt: skip
    compare = " to compare them"
    steps = [
        search(first, c.attr, compare),
        search(second, c.attr, compare),
        final(answer, winner.name, "I have both values and can compare them."),
    ]
    text = voice(core, rng, split, [first.name, second.name])
    return Built(text, phrasing, steps, winner.name, rival=loser.name)


def _two_values(world: World, rng: random.Random, a: Attr) -> tuple[Entity, Entity]:
    """Two entities of `a`'s kind, the one with the larger value first."""
    first, second = rng.sample([e for e in world.entities() if e.kind == a.kind], 2)
    while getattr(first, a.field) == getattr(second, a.field):
        first, second = rng.sample([e for e in world.entities() if e.kind == a.kind], 2)
    if getattr(first, a.field) < getattr(second, a.field):
        first, second = second, first
    return first, second


def _total(world: World, rng: random.Random, split: Split, total, op: str) -> Built:
    a = total.attr
    first, second = _two_values(world, rng, a)
    if op == "+" and rng.random() < 0.5:
        first, second = second, first  # a sum reads either way round
    x, y = int(getattr(first, a.field)), int(getattr(second, a.field))
    result = str(x + y if op == "+" else x - y)
    split_used = split if total.questions.heldout else "train"
    template, phrasing = total.questions.pick(rng, split_used)
    names = {"a": mention(first), "b": mention(second)}
    core = sentence(template.format(**names))
    expression = f"{value_of(first, a)} {op} {value_of(second, a)}"
    why = (
        "I have both numbers and need their sum."
        if op == "+"
        else ("I have both numbers and need their difference.")
    )
    goal = " for the sum" if op == "+" else " for the difference"
    steps = [
        search(first, a, goal),
        search(second, a, goal),
        calculate(expression, result, why),
        final(sentence(total.answer.format(**names, r=result)), result),
    ]
    return Built(voice(core, rng, split, [first.name, second.name]), phrasing, steps, result)


def sum_of_two(world: World, rng: random.Random, split: Split) -> Built:
    return _total(world, rng, split, rng.choice(SUMS), "+")


def difference(world: World, rng: random.Random, split: Split) -> Built:
    return _total(world, rng, split, rng.choice(DIFFERENCES), "-")


AGE = Phrasings(
    "age",
    ("How old will {p} be in {year}?", "What age does {p} turn in {year}?",
     "Work out the age of {p} in {year}.", "How old is {p} going to be in {year}?",
     "What will be the age of {p} in the year {year}?", "Tell me how old {p} is in {year}.",
     "By {year}, what age will {p} have reached?"),
    ("In {year}, how old is {p}?",),
)  # fmt: skip


def age(world: World, rng: random.Random, split: Split) -> Built:
    person = rng.choice(world.people)
    year = rng.randrange(2030, 2061)
    template, phrasing = AGE.pick(rng, split)
    steps = _age_steps(person, year, person.name)
    text = voice(template.format(p=person.name, year=year), rng, split, [person.name])
    return Built(text, phrasing, steps, str(year - person.born))


def _age_steps(person, year: int, subject: str) -> list[GoldStep]:
    age_then = year - person.born
    return [
        search(person, attr("person", "born"), f" to work out the age in {year}"),
        calculate(
            f"{year} - {person.born}", str(age_then),
            f"The age in {year} is {year} minus the birth year.",
        ),
        final(f"{subject} will be {age_then} in {year}.", str(age_then)),
    ]  # fmt: skip


ARITHMETIC = {
    "*": Phrasings("arithmetic.times",
        ("What is {a} * {b}?", "What is {a} times {b}?", "Multiply {a} by {b}.",
         "How much is {a} times {b}?", "Calculate {a} × {b}.", "What do you get for {a}*{b}?",
         "{a} multiplied by {b} is what?", "Compute {a} x {b}.", "Work out {a} times {b}.",
         "{a} times {b}?", "Tell me what {a} times {b} makes.", "Please multiply {a} and {b}."),
        ("What's the product of {a} and {b}?",)),
    "+": Phrasings("arithmetic.plus",
        ("What is {a} + {b}?", "What is {a} plus {b}?", "Add {a} and {b}.",
         "How much is {a} plus {b}?", "What's the sum of {a} and {b}?", "{a} + {b} = ?",
         "Sum {a} and {b} for me.", "What does {a} plus {b} make?", "{a} plus {b}?",
         "Work out {a} + {b}.", "Tell me {a} plus {b}."),
        ("Add {b} to {a}, please.",)),
    "-": Phrasings("arithmetic.minus",
        ("What is {a} - {b}?", "What is {a} minus {b}?", "Subtract {b} from {a}.",
         "How much is {a} minus {b}?", "What's left if you take {b} from {a}?",
         "Calculate {a} - {b}.", "{a} minus {b}?", "Work out {a} minus {b}.",
         "What do you get when you subtract {b} from {a}?", "Deduct {b} from {a}."),
        ("Take {b} away from {a}.",)),
    "/": Phrasings("arithmetic.divide",
        ("What is {a} / {b}?", "What is {a} divided by {b}?", "Divide {a} by {b}.",
         "How much is {a} split into {b} equal parts?", "{a} / {b} = ?", "{a} divided by {b}?",
         "Work out {a} / {b}.", "What is the quotient of {a} and {b}?"),
        ("How many times does {b} go into {a}?",)),
    "%": Phrasings("arithmetic.percent",
        ("What is {b}% of {a}?", "What is {b} percent of {a}?", "Calculate {b}% of {a}.",
         "Work out {b} percent of {a}.", "{b}% of {a} is how much?", "Find {b}% of {a}.",
         "What's {b} percent of {a}?", "Tell me {b}% of {a}."),
        ("How much is {b} per cent of {a}?",)),
    "**": Phrasings("arithmetic.power",
        ("What is {a} squared?", "What is {a} to the power of 2?", "Square {a}.",
         "What is {a} times itself?", "Calculate the square of {a}.", "{a} squared is what?"),
        ("What do I get if I square {a}?",)),
}  # fmt: skip


def arithmetic(world: World, rng: random.Random, split: Split) -> Built:
    op = rng.choice(list(ARITHMETIC))
    a, b = rng.randrange(2, 999), rng.randrange(2, 99)
    if op == "/":
        a = b * rng.randrange(2, 99)
    if op == "%":
        b = rng.choice((5, 10, 15, 20, 25, 30, 40, 50, 75))
    expression = {"%": f"{b} / 100 * {a}", "**": f"{a} ** 2"}.get(op, f"{a} {op} {b}")
    result = _value(expression)
    template, phrasing = ARITHMETIC[op].pick(rng, split)
    steps = [
        calculate(expression, result, "This needs a calculation."),
        final(f"{expression} = {result}.", result),
    ]
    return Built(voice(template.format(a=a, b=b), rng, split), phrasing, steps, result)


UNITS = (
    ("kilometres", "metres", 1000), ("metres", "centimetres", 100), ("kilograms", "grams", 1000),
    ("hours", "minutes", 60), ("minutes", "seconds", 60), ("days", "hours", 24),
    ("weeks", "days", 7), ("years", "months", 12), ("litres", "millilitres", 1000),
)  # fmt: skip
CONVERSIONS = Phrasings(
    "conversion",
    ("How many {to} are in {n} {unit}?", "Convert {n} {unit} to {to}.",
     "How many {to} is {n} {unit}?", "What is {n} {unit} in {to}?", "{n} {unit} in {to}?",
     "Turn {n} {unit} into {to}.", "How much is {n} {unit} in {to}?",
     "Change {n} {unit} to {to}, please.", "Give me {n} {unit} in {to}.",
     "What do {n} {unit} come to in {to}?", "{n} {unit} equals how many {to}?",
     "Work out {n} {unit} in {to}.", "Please convert {n} {unit} into {to}."),
    ("Express {n} {unit} in {to}.",),
)  # fmt: skip


def conversion(world: World, rng: random.Random, split: Split) -> Built:
    unit, to, factor = rng.choice(UNITS)
    if rng.random() < 0.3:  # the other way round: divide
        n = factor * rng.randrange(1, 50)
        unit, to, expression = to, unit, f"{n} / {factor}"
    else:
        n = rng.randrange(2, 500)
        expression = f"{n} * {factor}"
    result = _value(expression)
    template, phrasing = CONVERSIONS.pick(rng, split)
    steps = [
        calculate(expression, result, f"{unit.capitalize()} convert to {to} by a factor."),
        final(f"{n} {unit} are {result} {to}.", result),
    ]
    text = voice(sentence(template.format(n=n, unit=unit, to=to)), rng, split)
    return Built(text, phrasing, steps, result)


YEARS = Phrasings(
    "years",
    ("How many years are there between {y1} and {y2}?", "How many years passed from {y1} to "
     "{y2}?", "How long is it from {y1} to {y2} in years?",
     "How old is someone born in {y1} in {y2}?", "How many years lie between {y1} and {y2}?",
     "Count the years from {y1} to {y2}.",
     "What is the number of years between {y1} and {y2}?",
     "Work out the years between {y1} and {y2}.", "From {y1} to {y2} is how many years?"),
    ("How many years separate {y1} and {y2}?",),
)  # fmt: skip
YEARS_AFTER = Phrasings(
    "years_after",
    ("What year is {n} years after {y1}?", "Which year comes {n} years after {y1}?",
     "What year will it be {n} years after {y1}?", "Add {n} years to {y1}: which year is it?",
     "{n} years after {y1} is which year?", "Which year is {n} years later than {y1}?",
     "If I add {n} years to {y1}, what year do I get?", "{y1} plus {n} years is which year?"),
    ("Count {n} years on from {y1}: which year is it?",),
)  # fmt: skip


def years(world: World, rng: random.Random, split: Split) -> Built:
    y1 = rng.randrange(1500, 2030)
    if rng.random() < 0.6:
        y2 = y1 + rng.randrange(1, 300)
        expression, result = f"{y2} - {y1}", str(y2 - y1)
        template, phrasing = YEARS.pick(rng, split)
        answer = f"There are {result} years between {y1} and {y2}."
        text = template.format(y1=y1, y2=y2)
    else:
        n = rng.randrange(2, 200)
        expression, result = f"{y1} + {n}", str(y1 + n)
        template, phrasing = YEARS_AFTER.pick(rng, split)
        answer = f"{n} years after {y1} is the year {result}."
        text = template.format(n=n, y1=y1)
    steps = [calculate(expression, result, "This needs a calculation."), final(answer, result)]
    return Built(voice(text, rng, split), phrasing, steps, result)


EMAIL = Phrasings(
    "email",
    ("Send an e-mail to {p} saying that {msg}.", "E-mail {p} that {msg}.",
     "Write an e-mail to {p}: {msg}.", "Mail {p} and tell them that {msg}.",
     "Drop {p} an email that {msg}.", "Let {p} know by mail that {msg}.",
     "Send {p} a message saying that {msg}.", "Email {p}: {msg}.",
     "Please tell {p} in an e-mail that {msg}.", "Could you e-mail {p} that {msg}?",
     "Send a mail to {p}: {msg}.", "Tell {p} by e-mail that {msg}.",
     "Notify {p} by email that {msg}."),
    ("Please let {p} know by e-mail that {msg}.",),
)  # fmt: skip


def email(world: World, rng: random.Random, split: Split) -> Built:
    message = rng.choice(MESSAGES)
    kind = rng.choice(("person", "role", "address"))
    template, phrasing = EMAIL.pick(rng, split)
    if kind == "address":
        address = f"{rng.choice(SYLLABLES)}{rng.choice(SYLLABLES)}@{rng.choice(SYLLABLES)}mail.org"
        steps = [send(address, message), final(f"I sent the e-mail to {address}.", "", "Sent.")]
        gold = GoldAction(tool="send_email", arguments={"to": address, "body": message})
        text = voice(template.format(p=address, msg=message), rng, split, [address, message])
        return Built(text, phrasing, steps, action=gold)
    if kind == "person":
        person = rng.choice(world.people)
        recipient, names, steps = person.name, [person.name], []
    else:
        role = rng.choice((attr("city", "mayor"), attr("company", "ceo")))
        holder = rng.choice([e for e in world.entities() if e.kind == role.kind])
        person = world.entity(value_of(holder, role))
        recipient, names = f"{role.noun} of {mention(holder)}", [holder.name]
        steps = [search(holder, role, " to e-mail them")]
    steps += [
        search(person, attr("person", "email"), " to send the e-mail"),
        send(person.email, message),
        final(f"I sent the e-mail to {person.name}.", "", "The e-mail is sent."),
    ]
    gold = GoldAction(tool="send_email", arguments={"to": person.email, "body": message})
    text = voice(template.format(p=recipient, msg=message), rng, split, [*names, message])
    return Built(text, phrasing, steps, action=gold)


CALENDAR = Phrasings(
    "calendar",
    ("Add {e} to my calendar.", "Put {e} in my calendar.", "Create a calendar entry for {e}.",
     "Save {e} in my calendar.", "Can you add {e} to my calendar?",
     "Make a calendar event for {e}.", "I want {e} in my calendar.",
     "Note {e} down in my calendar.", "Put {e} on my calendar.",
     "Add an entry for {e} to my calendar.", "Could you save {e} to my calendar?"),
    ("Please note {e} in my calendar.",),
)  # fmt: skip
APPOINTMENT = Phrasings(
    "appointment",
    ("Add {t} on {d} at {h} to my calendar.", "Put {t} in my calendar on {d} at {h}.",
     "Schedule {t} on {d} at {h}.", "Create a calendar event: {t} on {d} at {h}.",
     "Book {t} for {d} at {h} in my calendar.", "Remind me of {t} on {d} at {h}.",
     "Save {t}, {d} at {h}, in my calendar.", "Calendar: {t} on {d} at {h}.",
     "Add {t} to my calendar for {d} at {h}.", "Set up {t} on {d} at {h}.",
     "Enter {t} on {d} at {h} into my calendar."),
    ("Please remember {t} on {d} at {h} in my calendar.",),
)  # fmt: skip
APPOINTMENTS = (
    "a dentist appointment", "lunch with Mara", "the team meeting", "a call with the bank",
    "yoga class", "the project review", "a haircut", "the parents' evening", "a job interview",
)  # fmt: skip


def calendar(world: World, rng: random.Random, split: Split) -> Built:
    if rng.random() < 0.4:
        return _appointment(rng, split)
    event = rng.choice(world.events)
    template, phrasing = CALENDAR.pick(rng, split)
    name = mention(event)
    steps = [
        GoldStep(
            tool="search_wikipedia",
            task=f"Find the date and place of {name}.",
            thoughts=f"I need the date and place of {name} for the calendar event.",
            learned=sentence(f"{name} takes place in {event.city} on {event.date}."),
            key=coded_word(event),
        ),
        create(name, event.date, event.city),
        final(f"I added {name} on {event.date} to your calendar.", "", "The event is saved."),
    ]
    return Built(
        voice(template.format(e=name), rng, split, [event.name]), phrasing, steps,
        action=_event_action(steps[1]),
    )  # fmt: skip


def _appointment(rng: random.Random, split: Split) -> Built:
    title = rng.choice(APPOINTMENTS)
    date = f"{rng.randrange(2027, 2030)}-{rng.randrange(1, 13):02d}-{rng.randrange(1, 29):02d}"
    time = f"{rng.randrange(7, 20):02d}:{rng.choice(('00', '15', '30', '45'))}"
    template, phrasing = APPOINTMENT.pick(rng, split)
    steps = [
        create(title, date, time=time),
        final(f"I added {title} on {date} at {time} to your calendar.", "", "It is saved."),
    ]
    text = voice(
        sentence(template.format(t=title, d=date, h=time)), rng, split, [title, date, time]
    )
    return Built(text, phrasing, steps, action=_event_action(steps[0]))


def _event_action(step: GoldStep) -> GoldAction:
    event = parse_event(step.task)  # the judge reads the planner's task with the same rules
    return GoldAction(tool="create_event", arguments={"title": event.title, "date": step.key})


class UserFact(NamedTuple):
    kind: str  # of the entity the user means
    phrases: tuple[str, ...]  # how the user names it
    question: str  # what the expert asks
    learned: str  # what the answer tells


USER_FACTS: dict[Topic, UserFact] = {
    "city": UserFact(
        "city", ("my home city", "the city I live in", "my town"),
        "Ask the user which city they live in.", "The user lives in {}.",
    ),
    "employer": UserFact(
        "company", ("my employer", "the company I work for", "my company"),
        "Ask the user which company they work for.", "The user works for {}.",
    ),
    "manager": UserFact(
        "person", ("my manager", "my boss"),
        "Ask the user who their manager is.", "The user's manager is {}.",
    ),
}  # fmt: skip


def user(world: World, rng: random.Random, split: Split) -> Built:
    if rng.random() < 0.25:
        return _email_manager(world, rng, split)
    topic = rng.choice(list(USER_FACTS))
    known = USER_FACTS[topic]
    a = rng.choice([a for a in ATTRS if a.kind == known.kind])
    core, phrasing = question(rng, split, a, rng.choice(known.phrases))
    text = voice(sentence(core), rng, split)
    entity = world.entity(getattr(user_profile(world, text), topic))
    value = value_of(entity, a)
    steps = [
        ask(topic, known.question, known.learned.format(entity.name)),
        search(entity, a),
        final(fact(entity, a), bare(value)),
    ]
    return Built(text, phrasing, steps, bare(value))


def _email_manager(world: World, rng: random.Random, split: Split) -> Built:
    template, phrasing = EMAIL.pick(rng, split)
    message = rng.choice(MESSAGES)
    recipient = rng.choice(USER_FACTS["manager"].phrases)
    text = voice(template.format(p=recipient, msg=message), rng, split, [message])
    manager = world.entity(user_profile(world, text).manager)
    steps = [
        ask("manager", USER_FACTS["manager"].question, f"The user's manager is {manager.name}."),
        search(manager, attr("person", "email"), " to send the e-mail"),
        send(manager.email, message),
        final(f"I sent the e-mail to {manager.name}.", "", "The e-mail is sent."),
    ]
    gold = GoldAction(tool="send_email", arguments={"to": manager.email, "body": message})
    return Built(text, phrasing, steps, action=gold)


CHAT = {
    "greeting": (
        Phrasings("chat.greeting", ("Hello!", "Hi!", "Hi there.", "Good morning!",
                                    "Hey, how are you?"), ("Good evening!",)),
        "Hello! How can I help you today?", "help",
    ),
    "thanks": (
        Phrasings("chat.thanks", ("Thanks!", "Thank you.", "Thanks a lot, that helps.",
                                  "Great, thank you!"), ("Much appreciated!",)),
        "You're welcome!", "welcome",
    ),
    "abilities": (
        Phrasings("chat.abilities", ("What can you do?", "What are you able to help with?",
                                     "Which tools do you have?"), ("How can you help me?",)),
        "I can search an encyclopedia, calculate, ask you questions, send e-mails and add "
        "events to your calendar.", "encyclopedia",
    ),
}  # fmt: skip
CODE = Phrasings(
    "chat.code",
    ("Please repeat the code {code} back to me.", "Reply with the code {code}.",
     "Just say {code}.", "Say the code {code}, nothing else."),
    ("Echo the code {code}, please.",),
)  # fmt: skip


def chat(world: World, rng: random.Random, split: Split) -> Built:
    """Requests that need no tool: the planner answers at once."""
    why = "No tool is needed to reply."
    kind = rng.choice(("code", "code", *CHAT))
    if kind == "code":
        code = f"{rng.choice(SYLLABLES)}{rng.choice(SYLLABLES)}-{rng.randrange(100, 1000)}"
        template, phrasing = CODE.pick(rng, split)
        text = voice(template.format(code=code.upper()), rng, split, [code.upper()])
        steps = [final(f"The code is {code.upper()}.", code.upper(), why)]
        return Built(text, phrasing, steps, code.upper())
    phrasings, answer, key = CHAT[kind]
    template, phrasing = phrasings.pick(rng, split)
    return Built(
        voice(template, rng, split, polite=False), phrasing, [final(answer, key, why)], key
    )


PRONOUNS = (("he", "his", "him"), ("she", "her", "her"), ("this person", "their", "them"))
ABOUT_THEM = Phrasings(
    "followup.person",
    ("When was {s} born?", "And when was {s} born?", "What is {p} e-mail address?",
     "Where does {s} live?", "Where does {s} work?", "What does {s} do for a living?"),
    ("And what year was {s} born in?", "How can I reach {o} by e-mail?"),
)  # fmt: skip
ABOUT_FIELD = dict(zip(
    ABOUT_THEM.train + ABOUT_THEM.heldout,
    ("born", "born", "email", "city", "employer", "occupation", "born", "email"),
    strict=True,
))  # fmt: skip
WHAT_ABOUT = Phrasings(
    "followup.same",
    ("And what about {y}?", "What about {y}?", "And {y}?", "How about {y}?",
     "Same question for {y}."),
    ("And for {y}?",),
)  # fmt: skip


def followup(world: World, rng: random.Random, split: Split) -> Built:
    """A request that refers to the turn before it: the history holds what it means."""
    if rng.random() < 0.5:
        return _what_about(world, rng, split)
    role = rng.choice([a for a in ATTRS if a.target == "person"])
    holder = rng.choice([e for e in world.entities() if e.kind == role.kind])
    person = world.entity(value_of(holder, role))
    earlier, _ = question(rng, "train", role, mention(holder))
    history = (Exchange(request=sentence(earlier), answer=fact(holder, role)),)
    template, phrasing = ABOUT_THEM.pick(rng, split)
    subject, possessive, obj = rng.choice(PRONOUNS)
    core = sentence(template.format(s=subject, p=possessive, o=obj))
    a = attr("person", ABOUT_FIELD[template])
    value = value_of(person, a)
    steps = [search(person, a), final(fact(person, a), bare(value))]
    return Built(voice(core, rng, split), phrasing, steps, bare(value), history=history)


def _what_about(world: World, rng: random.Random, split: Split) -> Built:
    a = rng.choice([a for a in ATTRS if not a.target])
    first, second = rng.sample([e for e in world.entities() if e.kind == a.kind], 2)
    earlier, _ = question(rng, "train", a, mention(first))
    history = (Exchange(request=sentence(earlier), answer=fact(first, a)),)
    template, phrasing = WHAT_ABOUT.pick(rng, split)
    value = value_of(second, a)
    steps = [search(second, a), final(fact(second, a), bare(value))]
    text = voice(template.format(y=mention(second)), rng, split, [second.name], polite=False)
    return Built(text, phrasing, steps, bare(value), history=history)


def _value(expression: str) -> str:
    from tools.arithmetic import evaluate, format_number

    return format_number(evaluate(expression))


SHAPES: dict[str, tuple[Shape, int]] = {
    "lookup": (lookup, 6),
    "multihop": (multihop, 3),
    "comparison": (comparison, 3),
    "sum": (sum_of_two, 2),
    "age": (age, 2),
    "arithmetic": (arithmetic, 5),
    "conversion": (conversion, 3),
    "years": (years, 2),
    "email": (email, 3),
    "calendar": (calendar, 3),
    "user": (user, 3),
    "chat": (chat, 2),
    "followup": (followup, 3),
    "difference": (difference, 3),
}  # shape → (builder, weight in a request set)
HELD_OUT_SHAPES = ("difference",)  # never in training requests
TRAINING_SHAPES = tuple(s for s in SHAPES if s not in HELD_OUT_SHAPES)


def atlas_requests(
    world: World,
    count: int,
    phrasings: PhrasingSplit = "train",
    shapes: tuple[str, ...] | None = None,
) -> list[AtlasRequest]:
    """`count` distinct requests about `world`, the same for the same arguments.

    "train" requests (training shapes, training wordings) are for simulation and training;
    "heldout" ones use wordings never seen in training and include the held-out shapes;
    "all" mixes both. `shapes` narrows the set (a held-out shape never joins "train").
    """
    shapes = shapes or (TRAINING_SHAPES if phrasings == "train" else tuple(SHAPES))
    unknown = set(shapes) - set(SHAPES)
    if unknown:
        raise WaypointError(f"unknown request shapes {sorted(unknown)}; known: {list(SHAPES)}")
    if phrasings == "train" and set(shapes) & set(HELD_OUT_SHAPES):
        raise WaypointError(f"the shapes {list(HELD_OUT_SHAPES)} are held out of training")
    rng = random.Random(f"atlas-requests:{world.seed}:{phrasings}:{','.join(shapes)}")
    weights = [SHAPES[s][1] for s in shapes]
    requests: list[AtlasRequest] = []
    seen: set[tuple[str, ...]] = set()
    attempts = 0
    while len(requests) < count:
        attempts += 1
        if attempts > 50 * count:
            raise WaypointError(
                f"the world of seed {world.seed} yields only {len(requests)} distinct requests "
                f"of these shapes and phrasings; ask for fewer or build a bigger world"
            )
        shape = rng.choices(shapes, weights)[0]
        built = SHAPES[shape][0](world, rng, phrasings)
        key = (built.text, *(e.request for e in built.history))
        if key not in seen:
            seen.add(key)
            requests.append(_request(world, shape, built, len(requests), phrasings))
    return requests


def _request(world: World, shape: str, built: Built, index: int, split: str) -> AtlasRequest:
    gold = Gold(answer=built.answer, action=built.action, tools=[s.tool for s in built.steps])
    return AtlasRequest(
        id=f"atlas-{world.seed}-{split}-{index:05d}",
        text=built.text,
        history=list(built.history),
        shape=shape,
        gold=gold,
        world_seed=world.seed,
        phrasing=built.phrasing,
        heldout=shape in HELD_OUT_SHAPES or _heldout(built.phrasing),
        rival=built.rival,
        solution=built.steps,
    )


def _heldout(phrasing: str) -> bool:
    family, _, _ = phrasing.rpartition("/")
    return _FAMILIES[family].is_heldout(phrasing)


_FAMILIES: dict[str, Phrasings] = {
    p.family: p
    for p in (
        GENERIC, AGE, CONVERSIONS, YEARS, YEARS_AFTER, EMAIL, CALENDAR, APPOINTMENT, CODE,
        ABOUT_THEM, WHAT_ABOUT, *ARITHMETIC.values(), *(c[0] for c in CHAT.values()),
        *(a.questions for a in ATTRS if a.questions), *(c.questions for c in COMPARISONS),
        *(t.questions for t in SUMS + DIFFERENCES),
    )
}  # fmt: skip
