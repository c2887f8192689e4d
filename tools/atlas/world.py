"""The atlas world: fictional cities, companies, people and events with checkable facts.

Built from a seed and nothing else, so the same seed gives a byte-identical world (the
JSON of `build_world(seed)` never changes) and different seeds share no entity (see
`names`). No model can know these facts: requests about them need the tools.
"""

import random
from functools import cached_property
from typing import Literal

from pydantic import BaseModel, Field

from tools.atlas.names import SYLLABLES, coded_name

INDUSTRIES = {
    "software": "Systems", "food": "Foods", "robotics": "Robotics",
    "shipping": "Lines", "energy": "Power", "textile": "Textiles",
}  # fmt: skip
OCCUPATIONS = ("architect", "engineer", "teacher", "doctor", "chemist", "pilot", "lawyer")
EVENT_TYPES = ("Festival", "Summit", "Fair", "Marathon", "Expo")


class City(BaseModel):
    kind: Literal["city"] = "city"
    name: str
    population: int
    founded: int
    area: int = Field(description="square kilometres")
    mayor: str


class Company(BaseModel):
    kind: Literal["company"] = "company"
    name: str
    industry: str
    founded: int
    employees: int
    headquarters: str
    ceo: str


class Person(BaseModel):
    kind: Literal["person"] = "person"
    name: str
    born: int
    occupation: str
    city: str
    employer: str
    email: str


class Event(BaseModel):
    kind: Literal["event"] = "event"
    name: str
    date: str = Field(description="YYYY-MM-DD")
    city: str
    organizer: str
    attendees: int


Entity = City | Company | Person | Event


class Article(BaseModel):
    title: str
    key: str = Field(description="the coded word of the title, unique across all worlds")
    text: str


class WorldSize(BaseModel):
    cities: int = Field(20, ge=2)
    companies: int = Field(20, ge=2)
    people: int = Field(60, ge=4)
    events: int = Field(30, ge=2)


class World(BaseModel):
    seed: int
    cities: list[City]
    companies: list[Company]
    people: list[Person]
    events: list[Event]

    def entities(self) -> list[Entity]:
        return [*self.cities, *self.companies, *self.people, *self.events]

    @cached_property
    def _by_name(self) -> dict[str, Entity]:
        return {e.name: e for e in self.entities()}

    def entity(self, name: str) -> Entity:
        return self._by_name[name]

    def articles(self) -> list[Article]:
        """One article per entity; the wording varies with the seed, the facts never hide."""
        rng = random.Random(f"atlas-articles:{self.seed}")
        return [
            Article(title=e.name, key=coded_word(e), text=article_text(e, rng))
            for e in self.entities()
        ]


def coded_word(entity: Entity) -> str:
    """The coded word of an entity's name (a person's surname, else the first word): it is
    unique across all worlds, so finding it in a query identifies the entity exactly."""
    words = entity.name.split()
    return words[-1] if entity.kind == "person" else words[0]


def build_world(seed: int, size: WorldSize | None = None) -> World:
    """The world of `seed`: entity names come from slots, facts from a seeded generator."""
    size = size or WorldSize()
    if size.people < size.cities + size.companies:
        raise ValueError("a world needs at least one person per mayor and per CEO")
    rng = random.Random(f"atlas-world:{seed}")
    slots = iter(range(size.cities + size.companies + size.people + size.events))
    city_names = [coded_name(seed, next(slots)) for _ in range(size.cities)]
    industries = [rng.choice(list(INDUSTRIES)) for _ in range(size.companies)]
    company_names = [f"{coded_name(seed, next(slots))} {INDUSTRIES[i]}" for i in industries]
    person_names = [
        f"{_given_name(rng)} {coded_name(seed, next(slots))}" for _ in range(size.people)
    ]
    mayors = person_names[: size.cities]
    ceos = person_names[size.cities : size.cities + size.companies]
    cities = [
        City(
            name=name,
            population=rng.randrange(20_000, 2_000_000),
            founded=rng.randrange(1200, 1950),
            area=rng.randrange(40, 900),
            mayor=mayor,
        )
        for name, mayor in zip(city_names, mayors, strict=True)
    ]
    companies = [
        Company(
            name=name,
            industry=industry,
            founded=rng.randrange(1950, 2021),
            employees=rng.randrange(50, 90_000),
            headquarters=rng.choice(city_names),
            ceo=ceo,
        )
        for name, industry, ceo in zip(company_names, industries, ceos, strict=True)
    ]
    employer_of = {c.ceo: c.name for c in companies}
    people = []
    for name in person_names:
        employer = employer_of.get(name) or rng.choice(company_names)
        given, surname = name.split()
        domain = employer.split()[0].lower()
        people.append(
            Person(
                name=name,
                born=rng.randrange(1950, 2006),
                occupation=rng.choice(OCCUPATIONS),
                city=rng.choice(city_names),
                employer=employer,
                email=f"{given.lower()}.{surname.lower()}@{domain}.com",
            )
        )
    events = [
        Event(
            name=f"{coded_name(seed, next(slots))} {rng.choice(EVENT_TYPES)}",
            date=_date(rng),
            city=rng.choice(city_names),
            organizer=rng.choice(company_names),
            attendees=rng.randrange(100, 60_000),
        )
        for _ in range(size.events)
    ]
    return World(seed=seed, cities=cities, companies=companies, people=people, events=events)


def _given_name(rng: random.Random) -> str:
    """Two syllables; given names repeat, the coded surname keeps every person unique."""
    return (rng.choice(SYLLABLES) + rng.choice(SYLLABLES)).capitalize()


def _date(rng: random.Random) -> str:
    return f"{rng.randrange(2027, 2030)}-{rng.randrange(1, 13):02d}-{rng.randrange(1, 29):02d}"


def article_text(entity: Entity, rng: random.Random) -> str:
    variants = _ARTICLES[entity.kind]
    return rng.choice(variants).format(**entity.model_dump())


_ARTICLES: dict[str, tuple[str, ...]] = {
    "city": (
        "{name} is a city founded in {founded}. It has a population of {population} and an "
        "area of {area} square kilometres. The mayor of {name} is {mayor}.",
        "The city of {name} (population {population}) was founded in {founded} and covers "
        "{area} square kilometres. Its mayor is {mayor}.",
    ),
    "company": (
        "{name} is a {industry} company founded in {founded} with headquarters in "
        "{headquarters}. It has {employees} employees. Its CEO is {ceo}.",
        "Founded in {founded}, {name} is a {industry} company based in {headquarters}. "
        "The CEO of {name} is {ceo}; the company has {employees} employees.",
    ),
    "person": (
        "{name} (born {born}) is a {occupation} who lives in {city} and works at {employer}. "
        "E-mail address: {email}.",
        "{name} is a {occupation} born in {born}. {name} lives in {city}, works at "
        "{employer} and has the e-mail address {email}.",
    ),
    "event": (
        "The {name} takes place in {city} on {date}. It is organised by {organizer} and "
        "expects {attendees} attendees.",
        "The {name}, organised by {organizer}, is held in {city} on {date} with {attendees} "
        "expected attendees.",
    ),
}
