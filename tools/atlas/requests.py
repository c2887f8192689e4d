"""Atlas requests: seven shapes, several phrasings each (some held out), gold answers and
actions, and the expert's step-by-step solution of every request.

The solution is written down when the request is made, because the world is
deterministic: each gold step names its tool, its task (short, one wording per kind of
step, so a small planner can learn it), the fact its observation adds, and the `key` the
judge checks (an entity's coded word, a result, a topic, an address, a date or the answer).
"""

import random
from collections.abc import Callable
from typing import Literal, NamedTuple

from pydantic import BaseModel, Field

from schemas.errors import WaypointError
from schemas.plan import PlanRecord
from schemas.request import Gold, GoldAction, Request
from tools.atlas.names import SYLLABLES
from tools.atlas.user import Topic, user_profile
from tools.atlas.world import Entity, World, coded_word

PhrasingSplit = Literal["train", "heldout", "all"]
NOTHING_YET = "Nothing is known yet."


class GoldStep(BaseModel):
    tool: str
    task: str
    thoughts: str
    learned: str = Field(description="the fact this step's observation adds to the context")
    key: str = Field(description="what the judge checks this step against")


class AtlasRequest(Request):
    source: str = "atlas"
    world_seed: int
    phrasing: str = Field(description="shape family and template index, e.g. 'question/2'")
    heldout: bool
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


class Phrasings(NamedTuple):
    family: str
    train: tuple[str, ...]
    heldout: tuple[str, ...]


QUESTION = Phrasings(
    "question",
    ("What is {attr} of {x}?", "Tell me {attr} of {x}.", "Look up {attr} of {x}.",
     "I need to know {attr} of {x}."),
    ("Could you find out {attr} of {x}?", "Do you know {attr} of {x}?"),
)  # fmt: skip
COMPARE = Phrasings(
    "compare",
    ("Which has {more}: {a} or {b}?", "Between {a} and {b}, which one has {more}?",
     "Compare {a} and {b}: which has {more}?"),
    ("Of {a} and {b}, which one has {more}?",),
)  # fmt: skip
SUM = Phrasings(
    "sum",
    ("What is the combined {noun} of {a} and {b}?", "Add up the {noun} of {a} and {b}.",
     "How much is the {noun} of {a} and {b} together?"),
    ("Give me the total {noun} of {a} and {b}.",),
)  # fmt: skip
AGE = Phrasings(
    "age",
    ("How old will {p} be in {year}?", "What age does {p} turn in {year}?",
     "Work out the age of {p} in {year}."),
    ("In {year}, how old is {p}?",),
)  # fmt: skip
EMAIL = Phrasings(
    "email",
    ("Send an e-mail to {p} saying that {msg}.", "E-mail {p} that {msg}.",
     "Write an e-mail to {p}: {msg}."),
    ("Please let {p} know by e-mail that {msg}.",),
)  # fmt: skip
CALENDAR = Phrasings(
    "calendar",
    ("Add {e} to my calendar.", "Put {e} in my calendar.", "Create a calendar entry for {e}."),
    ("Please save {e} in my calendar.",),
)
DIRECT = Phrasings(
    "direct",
    ("Please repeat the code {code} back to me.", "Reply with the code {code}.",
     "Just say {code}."),
    ("Echo the code {code}, please.",),
)  # fmt: skip

MESSAGES = (
    "the meeting moves to Friday", "the report is ready", "I will be late tomorrow",
    "the contract was signed", "lunch is at noon", "the budget was approved",
    "the workshop is cancelled", "the samples arrived", "the invoice was paid",
    "the demo went well", "the office is closed on Monday", "the new schedule is online",
)  # fmt: skip


class Attr(NamedTuple):
    kind: str
    field: str
    noun: str
    target: str | None = None  # the kind of entity a relation points to


ATTRS = (
    Attr("city", "population", "the population"),
    Attr("city", "founded", "the founding year"),
    Attr("city", "area", "the area in square kilometres"),
    Attr("city", "mayor", "the mayor", "person"),
    Attr("company", "founded", "the founding year"),
    Attr("company", "employees", "the number of employees"),
    Attr("company", "headquarters", "the headquarters city", "city"),
    Attr("company", "ceo", "the CEO", "person"),
    Attr("person", "born", "the birth year"),
    Attr("person", "occupation", "the occupation"),
    Attr("person", "city", "the home city", "city"),
    Attr("person", "employer", "the employer", "company"),
    Attr("person", "email", "the e-mail address"),
    Attr("event", "date", "the date"),
    Attr("event", "city", "the host city", "city"),
    Attr("event", "organizer", "the organizer", "company"),
    Attr("event", "attendees", "the expected number of attendees"),
)


def attr(kind: str, field: str) -> Attr:
    return next(a for a in ATTRS if a.kind == kind and a.field == field)


class Comparison(NamedTuple):
    attr: Attr
    more: str  # "which has {more}"
    highest_wins: bool


COMPARISONS = (
    Comparison(attr("city", "population"), "more inhabitants", True),
    Comparison(attr("company", "employees"), "more employees", True),
    Comparison(attr("event", "attendees"), "more expected attendees", True),
    Comparison(attr("city", "founded"), "the earlier founding year", False),
    Comparison(attr("person", "born"), "the earlier birth year", False),
)
SUMS = (
    (attr("city", "population"), "population"),
    (attr("company", "employees"), "number of employees"),
    (attr("event", "attendees"), "number of expected attendees"),
)


# ---- wording shared by all shapes -------------------------------------------------------


def mention(entity: Entity) -> str:
    return f"the {entity.name}" if entity.kind == "event" else entity.name


def sentence(text: str) -> str:
    return text[:1].upper() + text[1:]


def value_of(entity: Entity, a: Attr) -> str:
    return str(getattr(entity, a.field))


def search(entity: Entity, a: Attr) -> GoldStep:
    noun = f"{a.noun} of {mention(entity)}"
    return GoldStep(
        tool="search",
        task=f"Find {noun}.",
        thoughts=f"I need {noun}.",
        learned=sentence(f"{noun} is {value_of(entity, a)}."),
        key=coded_word(entity),
    )


def final(answer: str, key: str, why: str = "I have everything the request needs.") -> GoldStep:
    """`key`: the gold answer; empty after an action, where the judge checks the action."""
    return GoldStep(tool="final_answer", task=answer, thoughts=why, learned="", key=key)


def calculate(expression: str, result: int, why: str) -> GoldStep:
    return GoldStep(
        tool="calculate",
        task=f"Calculate {expression}.",
        thoughts=why,
        learned=f"{expression} = {result}.",
        key=str(result),
    )


def send(address: str, message: str) -> GoldStep:
    return GoldStep(
        tool="send_email",
        task=f"Send an e-mail to {address} saying that {message}.",
        thoughts="I have the address, so I can send the e-mail.",
        learned=f"The e-mail to {address} was sent.",
        key=address,
    )


def ask(topic: Topic, question: str, learned: str) -> GoldStep:
    return GoldStep(
        tool="ask_user",
        task=question,
        thoughts="Only the user can tell me this.",
        learned=learned,
        key=topic,
    )


# ---- the shapes -------------------------------------------------------------------------

Pick = Callable[[Phrasings], tuple[str, str]]  # phrasings → (template, phrasing id)


class Built(NamedTuple):
    text: str
    phrasing: str
    steps: list[GoldStep]
    answer: str | None = None
    action: GoldAction | None = None
    rival: str | None = None


def direct(world: World, rng: random.Random, pick: Pick) -> Built:
    code = f"{rng.choice(SYLLABLES)}{rng.choice(SYLLABLES)}-{rng.randrange(100, 1000)}".upper()
    template, phrasing = pick(DIRECT)
    why = "The request only asks me to repeat a code; no tool is needed."
    return Built(
        template.format(code=code), phrasing, [final(f"The code is {code}.", code, why)], code
    )


def lookup(world: World, rng: random.Random, pick: Pick) -> Built:
    entity = rng.choice(world.entities())
    a = rng.choice([a for a in ATTRS if a.kind == entity.kind])
    template, phrasing = pick(QUESTION)
    value = value_of(entity, a)
    answer = sentence(f"{a.noun} of {mention(entity)} is {value}.")
    steps = [search(entity, a), final(answer, value)]
    return Built(sentence(template.format(attr=a.noun, x=mention(entity))), phrasing, steps, value)


def multihop(world: World, rng: random.Random, pick: Pick) -> Built:
    relation = rng.choice([a for a in ATTRS if a.target])
    entity = rng.choice([e for e in world.entities() if e.kind == relation.kind])
    hop = world.entity(value_of(entity, relation))
    a = rng.choice([a for a in ATTRS if a.kind == hop.kind and not a.target])
    template, phrasing = pick(QUESTION)
    x = f"{relation.noun} of {mention(entity)}"
    value = value_of(hop, a)
    steps = [
        search(entity, relation),
        search(hop, a),
        final(sentence(f"{a.noun} of {mention(hop)} is {value}."), value),
    ]
    return Built(sentence(template.format(attr=a.noun, x=x)), phrasing, steps, value)


def comparison(world: World, rng: random.Random, pick: Pick) -> Built:
    c = rng.choice(COMPARISONS)
    pool = [e for e in world.entities() if e.kind == c.attr.kind]
    first, second = rng.sample(pool, 2)
    while value_of(first, c.attr) == value_of(second, c.attr):
        first, second = rng.sample(pool, 2)
    high_first = int(value_of(first, c.attr)) > int(value_of(second, c.attr))
    winner, loser = (first, second) if high_first == c.highest_wins else (second, first)
    template, phrasing = pick(COMPARE)
    text = sentence(template.format(a=mention(first), b=mention(second), more=c.more))
    answer = sentence(
        f"{mention(winner)} has {c.more}: {value_of(winner, c.attr)}, "
        f"against {value_of(loser, c.attr)} for {mention(loser)}."
    )
    steps = [search(first, c.attr), search(second, c.attr), final(answer, winner.name)]
    return Built(text, phrasing, steps, winner.name, rival=loser.name)


def arithmetic(world: World, rng: random.Random, pick: Pick) -> Built:
    if rng.random() < 0.5:
        return _age(world, rng, pick)
    a, noun = rng.choice(SUMS)
    first, second = rng.sample([e for e in world.entities() if e.kind == a.kind], 2)
    x, y = int(value_of(first, a)), int(value_of(second, a))
    template, phrasing = pick(SUM)
    text = sentence(template.format(noun=noun, a=mention(first), b=mention(second)))
    answer = f"The combined {noun} of {mention(first)} and {mention(second)} is {x + y}."
    steps = [
        search(first, a),
        search(second, a),
        calculate(f"{x} + {y}", x + y, "I have both numbers and need their sum."),
        final(answer, str(x + y)),
    ]
    return Built(text, phrasing, steps, str(x + y))


def _age(world: World, rng: random.Random, pick: Pick) -> Built:
    person = rng.choice(world.people)
    year = rng.randrange(2030, 2061)
    age = year - person.born
    template, phrasing = pick(AGE)
    steps = [
        search(person, attr("person", "born")),
        calculate(
            f"{year} - {person.born}", age, f"The age in {year} is {year} minus the birth year."
        ),
        final(f"{person.name} will be {age} in {year}.", str(age)),
    ]
    return Built(template.format(p=person.name, year=year), phrasing, steps, str(age))


def action(world: World, rng: random.Random, pick: Pick) -> Built:
    kind = rng.choice(("email", "email-role", "calendar"))
    if kind == "calendar":
        return _calendar(world, rng, pick)
    message = rng.choice(MESSAGES)
    if kind == "email":
        person = rng.choice(world.people)
        recipient, steps = person.name, []
    else:
        role = rng.choice((attr("city", "mayor"), attr("company", "ceo")))
        holder = rng.choice([e for e in world.entities() if e.kind == role.kind])
        person = world.entity(value_of(holder, role))
        recipient, steps = f"{role.noun} of {mention(holder)}", [search(holder, role)]
    template, phrasing = pick(EMAIL)
    steps += [
        search(person, attr("person", "email")),
        send(person.email, message),
        final(f"I sent the e-mail to {person.name}.", "", "The e-mail is sent."),
    ]
    gold = GoldAction(tool="send_email", arguments={"to": person.email, "body": message})
    return Built(template.format(p=recipient, msg=message), phrasing, steps, action=gold)


def _calendar(world: World, rng: random.Random, pick: Pick) -> Built:
    event = rng.choice(world.events)
    template, phrasing = pick(CALENDAR)
    name = mention(event)
    steps = [
        GoldStep(
            tool="search",
            task=f"Find the date and place of {name}.",
            thoughts=f"I need the date and place of {name}.",
            learned=sentence(f"{name} takes place in {event.city} on {event.date}."),
            key=coded_word(event),
        ),
        GoldStep(
            tool="create_event",
            task=f"Create a calendar event for {name} on {event.date} in {event.city}.",
            thoughts="I have the date and place, so I can create the event.",
            learned=f"The event is in the calendar on {event.date}.",
            key=event.date,
        ),
        final(f"I added {name} on {event.date} to your calendar.", "", "The event is saved."),
    ]
    gold = GoldAction(tool="create_event", arguments={"title": event.name, "date": event.date})
    return Built(template.format(e=name), phrasing, steps, action=gold)


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


def user(world: World, rng: random.Random, pick: Pick) -> Built:
    if rng.random() < 0.25:
        return _email_manager(world, rng, pick)
    topic = rng.choice(list(USER_FACTS))
    fact = USER_FACTS[topic]
    a = rng.choice([a for a in ATTRS if a.kind == fact.kind])
    template, phrasing = pick(QUESTION)
    text = sentence(template.format(attr=a.noun, x=rng.choice(fact.phrases)))
    entity = world.entity(getattr(user_profile(world, text), topic))
    value = value_of(entity, a)
    steps = [
        ask(topic, fact.question, fact.learned.format(entity.name)),
        search(entity, a),
        final(sentence(f"{a.noun} of {mention(entity)} is {value}."), value),
    ]
    return Built(text, phrasing, steps, value)


def _email_manager(world: World, rng: random.Random, pick: Pick) -> Built:
    template, phrasing = pick(EMAIL)
    message = rng.choice(MESSAGES)
    text = template.format(p=rng.choice(USER_FACTS["manager"].phrases), msg=message)
    manager = world.entity(user_profile(world, text).manager)
    steps = [
        ask("manager", USER_FACTS["manager"].question, f"The user's manager is {manager.name}."),
        search(manager, attr("person", "email")),
        send(manager.email, message),
        final(f"I sent the e-mail to {manager.name}.", "", "The e-mail is sent."),
    ]
    gold = GoldAction(tool="send_email", arguments={"to": manager.email, "body": message})
    return Built(text, phrasing, steps, action=gold)


Shape = Callable[[World, random.Random, Pick], Built]
SHAPES: dict[str, tuple[Shape, int]] = {
    "direct": (direct, 1),
    "lookup": (lookup, 3),
    "multihop": (multihop, 2),
    "comparison": (comparison, 2),
    "arithmetic": (arithmetic, 2),
    "action": (action, 3),
    "user": (user, 3),
}  # shape → (builder, weight in a request set)


def atlas_requests(
    world: World,
    count: int,
    phrasings: PhrasingSplit = "train",
    shapes: tuple[str, ...] = tuple(SHAPES),
) -> list[AtlasRequest]:
    """`count` distinct requests about `world`, the same for the same arguments.

    "train" phrasings are for simulation and training, "heldout" ones for evaluating on
    wordings never seen in training; "all" mixes both.
    """
    unknown = set(shapes) - set(SHAPES)
    if unknown:
        raise WaypointError(f"unknown request shapes {sorted(unknown)}; known: {list(SHAPES)}")
    rng = random.Random(f"atlas-requests:{world.seed}:{phrasings}:{','.join(shapes)}")
    weights = [SHAPES[s][1] for s in shapes]

    def pick(family: Phrasings) -> tuple[str, str]:
        pool = [(t, i, False) for i, t in enumerate(family.train)] if phrasings != "heldout" else []
        if phrasings != "train":
            pool += [(t, len(family.train) + i, True) for i, t in enumerate(family.heldout)]
        template, index, _ = rng.choice(pool)
        return template, f"{family.family}/{index}"

    requests: list[AtlasRequest] = []
    seen: set[str] = set()
    attempts = 0
    while len(requests) < count:
        attempts += 1
        if attempts > 50 * count:
            raise WaypointError(
                f"the world of seed {world.seed} yields only {len(requests)} distinct requests "
                f"of these shapes and phrasings; ask for fewer or build a bigger world"
            )
        shape = rng.choices(shapes, weights)[0]
        built = SHAPES[shape][0](world, rng, pick)
        if built.text not in seen:
            seen.add(built.text)
            requests.append(_request(world, shape, built, len(requests), phrasings))
    return requests


def _request(world: World, shape: str, built: Built, index: int, split: str) -> AtlasRequest:
    family, _, number = built.phrasing.partition("/")
    heldout = int(number) >= len(_FAMILIES[family].train)
    gold = Gold(answer=built.answer, action=built.action, tools=[s.tool for s in built.steps])
    return AtlasRequest(
        id=f"atlas-{world.seed}-{split}-{index:05d}",
        text=built.text,
        shape=shape,
        gold=gold,
        world_seed=world.seed,
        phrasing=built.phrasing,
        heldout=heldout,
        rival=built.rival,
        solution=built.steps,
    )


_FAMILIES = {f.family: f for f in (QUESTION, COMPARE, SUM, AGE, EMAIL, CALENDAR, DIRECT)}
