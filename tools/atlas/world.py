"""The atlas world: fictional cities, companies, people, events, mountains, rivers, towers,
inventions and animal species with checkable facts.

Built from a seed and nothing else, so the same seed gives a byte-identical world (the
JSON of `build_world(seed)` never changes) and different seeds share no entity (see
`names`). No model can know these facts: requests about them need the tools. The articles
are written the way an encyclopedia words things, in several styles, with numbers grouped
by thousands in some of them, so a planner trained here reads real articles too.
"""

import hashlib
import random
from functools import cached_property
from typing import Literal

from pydantic import BaseModel, Field

from tools.atlas.names import SYLLABLES, check_seed, coded_name

INDUSTRIES = {
    "software": "Systems", "food": "Foods", "robotics": "Robotics",
    "shipping": "Lines", "energy": "Power", "textile": "Textiles",
}  # fmt: skip
OCCUPATIONS = ("architect", "engineer", "teacher", "doctor", "chemist", "pilot", "lawyer")
EVENT_TYPES = ("Festival", "Summit", "Fair", "Marathon", "Expo")
MOUNTAIN_FORMS = ("Mount {}", "{} Peak")
TOWER_TYPES = ("Tower", "Bridge", "Stadium", "Cathedral")
INVENTION_TYPES = ("Engine", "Lamp", "Press", "Loom", "Compass", "Telescope")
SPECIES_TYPES = ("Beetle", "Frog", "Owl", "Whale", "Lizard", "Moth")


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


class Mountain(BaseModel):
    kind: Literal["mountain"] = "mountain"
    name: str
    height: int = Field(description="metres above sea level")
    first_ascent: int
    city: str = Field(description="the nearest city")


class River(BaseModel):
    kind: Literal["river"] = "river"
    name: str
    length: int = Field(description="kilometres")
    city: str = Field(description="the largest city on its banks")


class Tower(BaseModel):
    kind: Literal["tower"] = "tower"
    name: str
    height: int = Field(description="metres")
    opened: int
    architect: str
    city: str


class Invention(BaseModel):
    kind: Literal["invention"] = "invention"
    name: str
    inventor: str
    invented: int = Field(description="the year")


class Species(BaseModel):
    kind: Literal["species"] = "species"
    name: str
    length: int = Field(description="centimetres, adults at most")
    lifespan: int = Field(description="years")
    discoverer: str
    discovered: int = Field(description="the year it was first described")


Entity = City | Company | Person | Event | Mountain | River | Tower | Invention | Species


class Article(BaseModel):
    title: str
    key: str = Field(description="the coded word of the title, unique across all worlds")
    text: str


class WorldSize(BaseModel):
    cities: int = Field(20, ge=2)
    companies: int = Field(20, ge=2)
    people: int = Field(60, ge=4)
    events: int = Field(30, ge=2)
    mountains: int = Field(15, ge=2)
    rivers: int = Field(15, ge=2)
    towers: int = Field(15, ge=2)
    inventions: int = Field(15, ge=2)
    species: int = Field(15, ge=2)


class World(BaseModel):
    seed: int
    cities: list[City]
    companies: list[Company]
    people: list[Person]
    events: list[Event]
    mountains: list[Mountain]
    rivers: list[River]
    towers: list[Tower]
    inventions: list[Invention]
    species: list[Species]

    def entities(self) -> list[Entity]:
        return [
            *self.cities, *self.companies, *self.people, *self.events,
            *self.mountains, *self.rivers, *self.towers, *self.inventions, *self.species,
        ]  # fmt: skip

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
    """The coded word of an entity's name (a person's surname, a mountain's coded part,
    else the first word): unique across all worlds, so finding it in a query identifies the
    entity exactly."""
    words = entity.name.split()
    if entity.kind == "person" or (entity.kind == "mountain" and words[0] == "Mount"):
        return words[-1]
    return words[0]


def grouped(entity: Entity) -> bool:
    """Whether the entity's article groups the digits of its large numbers ("1,204,330"),
    as real articles mostly do: fixed per entity, so the article and every request agree."""
    return hashlib.sha256(entity.name.encode()).digest()[0] % 2 == 0


def shown(entity: Entity, value: int | str) -> str:
    """A fact as the entity's article writes it."""
    if isinstance(value, int) and value >= 10_000 and grouped(entity):
        return f"{value:,}"
    return str(value)


def build_world(seed: int, size: WorldSize | None = None) -> World:
    """The world of `seed`: entity names come from slots, facts from a seeded generator."""
    check_seed(seed)
    size = size or WorldSize()
    if size.people < size.cities + size.companies:
        raise ValueError("a world needs at least one person per mayor and per CEO")
    rng = random.Random(f"atlas-world:{seed}")
    slots = iter(range(1000))

    def name() -> str:
        return coded_name(seed, next(slots))

    city_names = [name() for _ in range(size.cities)]
    industries = [rng.choice(list(INDUSTRIES)) for _ in range(size.companies)]
    company_names = [f"{name()} {INDUSTRIES[i]}" for i in industries]
    person_names = [f"{_given_name(rng)} {name()}" for _ in range(size.people)]
    mayors = person_names[: size.cities]
    ceos = person_names[size.cities : size.cities + size.companies]
    cities = [
        City(
            name=city,
            population=rng.randrange(20_000, 2_000_000),
            founded=rng.randrange(1200, 1950),
            area=rng.randrange(40, 900),
            mayor=mayor,
        )
        for city, mayor in zip(city_names, mayors, strict=True)
    ]
    companies = [
        Company(
            name=company,
            industry=industry,
            founded=rng.randrange(1950, 2021),
            employees=rng.randrange(50, 90_000),
            headquarters=rng.choice(city_names),
            ceo=ceo,
        )
        for company, industry, ceo in zip(company_names, industries, ceos, strict=True)
    ]
    people = _people(rng, person_names, companies, city_names, company_names)
    events = [
        Event(
            name=f"{name()} {rng.choice(EVENT_TYPES)}",
            date=_date(rng),
            city=rng.choice(city_names),
            organizer=rng.choice(company_names),
            attendees=rng.randrange(100, 60_000),
        )
        for _ in range(size.events)
    ]
    mountains = [
        Mountain(
            name=rng.choice(MOUNTAIN_FORMS).format(name()),
            height=rng.randrange(900, 8800),
            first_ascent=rng.randrange(1780, 1990),
            city=rng.choice(city_names),
        )
        for _ in range(size.mountains)
    ]
    rivers = [
        River(name=f"{name()} River", length=rng.randrange(40, 6500), city=rng.choice(city_names))
        for _ in range(size.rivers)
    ]
    towers = [
        Tower(
            name=f"{name()} {rng.choice(TOWER_TYPES)}",
            height=rng.randrange(40, 900),
            opened=rng.randrange(1850, 2024),
            architect=rng.choice(person_names),
            city=rng.choice(city_names),
        )
        for _ in range(size.towers)
    ]
    inventions = [
        Invention(
            name=f"{name()} {rng.choice(INVENTION_TYPES)}",
            inventor=rng.choice(person_names),
            invented=rng.randrange(1700, 2020),
        )
        for _ in range(size.inventions)
    ]
    species = [
        Species(
            name=f"{name()} {rng.choice(SPECIES_TYPES)}",
            length=rng.randrange(2, 3000),
            lifespan=rng.randrange(2, 120),
            discoverer=rng.choice(person_names),
            discovered=rng.randrange(1750, 2024),
        )
        for _ in range(size.species)
    ]
    return World(
        seed=seed, cities=cities, companies=companies, people=people, events=events,
        mountains=mountains, rivers=rivers, towers=towers, inventions=inventions,
        species=species,
    )  # fmt: skip


def _people(
    rng: random.Random,
    names: list[str],
    companies: list[Company],
    city_names: list[str],
    company_names: list[str],
) -> list[Person]:
    employer_of = {c.ceo: c.name for c in companies}
    people = []
    for name in names:
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
    return people


def _given_name(rng: random.Random) -> str:
    """Two syllables; given names repeat, the coded surname keeps every person unique."""
    return (rng.choice(SYLLABLES) + rng.choice(SYLLABLES)).capitalize()


def _date(rng: random.Random) -> str:
    return f"{rng.randrange(2027, 2030)}-{rng.randrange(1, 13):02d}-{rng.randrange(1, 29):02d}"


def article_text(entity: Entity, rng: random.Random) -> str:
    facts = {k: shown(entity, v) for k, v in entity.model_dump().items()}
    return rng.choice(_ARTICLES[entity.kind]).format(**facts)


_ARTICLES: dict[str, tuple[str, ...]] = {
    "city": (
        "{name} is a city founded in {founded}. It has a population of {population} and an "
        "area of {area} square kilometres. The mayor of {name} is {mayor}.",
        "The city of {name} (population {population}) was founded in {founded} and covers "
        "{area} square kilometres. Its mayor is {mayor}.",
        "Founded in {founded}, {name} is home to {population} people on {area} square "
        "kilometres. {mayor} has been its mayor since the last election.",
    ),
    "company": (
        "{name} is a {industry} company founded in {founded} with headquarters in "
        "{headquarters}. It has {employees} employees. Its CEO is {ceo}.",
        "Founded in {founded}, {name} is a {industry} company based in {headquarters}. "
        "The CEO of {name} is {ceo}; the company has {employees} employees.",
        "{name}, a {industry} firm, employs {employees} people. It was established in "
        "{founded}, is headquartered in {headquarters} and is led by chief executive {ceo}.",
    ),
    "person": (
        "{name} (born {born}) is a {occupation} who lives in {city} and works at {employer}. "
        "E-mail address: {email}.",
        "{name} is a {occupation} born in {born}. {name} lives in {city}, works at "
        "{employer} and has the e-mail address {email}.",
        "Born in {born}, {name} works as a {occupation} for {employer} and makes a home in "
        "{city}. {name} can be reached at {email}.",
    ),
    "event": (
        "The {name} takes place in {city} on {date}. It is organised by {organizer} and "
        "expects {attendees} attendees.",
        "The {name}, organised by {organizer}, is held in {city} on {date} with {attendees} "
        "expected attendees.",
        "On {date}, {city} hosts the {name}. The organiser, {organizer}, expects about "
        "{attendees} visitors.",
    ),
    "mountain": (
        "{name} is a mountain near {city}. Its summit rises {height} metres above sea "
        "level. It was first climbed in {first_ascent}.",
        "With a height of {height} metres, {name} towers over the city of {city}. The "
        "first ascent of {name} was made in {first_ascent}.",
        "First climbed in {first_ascent}, {name} stands {height} m high; the nearest city "
        "is {city}.",
    ),
    "river": (
        "The {name} is {length} kilometres long. The largest city on its banks is {city}.",
        "The {name} flows for {length} km and passes through {city}, the largest city on "
        "its course.",
        "Running through {city}, the {name} has a total length of {length} kilometres.",
    ),
    "tower": (
        "The {name} in {city} is {height} metres tall. It was designed by {architect} and "
        "opened in {opened}.",
        "Opened in {opened}, the {name} rises {height} m above {city}. Its architect was "
        "{architect}.",
        "The {name}, a landmark of {city} designed by {architect}, reaches a height of "
        "{height} metres and has been open since {opened}.",
    ),
    "invention": (
        "The {name} was invented by {inventor} in {invented}.",
        "In {invented}, {inventor} built the first {name}, which soon found wide use.",
        "The {name}, first made in {invented}, is the work of the inventor {inventor}.",
    ),
    "species": (
        "The {name} is an animal species first described by {discoverer} in {discovered}. "
        "Adults grow up to {length} centimetres long and live for up to {lifespan} years.",
        "Discovered in {discovered} by {discoverer}, the {name} reaches a length of {length} "
        "cm; it can live {lifespan} years.",
        "Living up to {lifespan} years, the {name} grows to {length} centimetres. "
        "{discoverer} discovered the species in {discovered}.",
    ),
}
