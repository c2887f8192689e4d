"""The facts atlas requests ask about, and the ways people ask about each.

Every attribute has its own questions ("How high is {x}?") on top of the generic ones ("What
is {noun} of {x}?"); part of each list is held out of training. `{x}` is where the entity
goes, `{noun}` the attribute's noun phrase. Comparisons, sums and differences say how two
entities are weighed against each other.
"""

from typing import NamedTuple

from tools.atlas.wording import Phrasings


class Attr(NamedTuple):
    kind: str
    field: str
    noun: str  # "the height"
    target: str | None = None  # the kind of entity a relation points to
    unit: str = ""  # written after the value: "4,512 metres"
    questions: Phrasings | None = None  # its own questions, besides the generic ones


def _q(kind: str, field: str, train: tuple[str, ...], heldout: tuple[str, ...]) -> Phrasings:
    return Phrasings(f"{kind}.{field}", train, heldout)


GENERIC = Phrasings(
    "question",
    ("What is {noun} of {x}?", "Tell me {noun} of {x}.", "Look up {noun} of {x}.",
     "I need to know {noun} of {x}.", "Find out {noun} of {x}.",
     "Can you tell me {noun} of {x}?", "Please find {noun} of {x}.", "What's {noun} of {x}?",
     "Search for {noun} of {x}.", "Give me {noun} of {x}.", "I'm looking for {noun} of {x}.",
     "Show me {noun} of {x}.", "Any idea what {noun} of {x} is?", "Find {noun} of {x}.",
     "Tell me what {noun} of {x} is.", "Please look up {noun} of {x}.",
     "Check {noun} of {x} for me."),
    ("Could you find out {noun} of {x}?", "Do you know {noun} of {x}?",
     "I'd like to know {noun} of {x}."),
)  # fmt: skip

ATTRS = (
    Attr("city", "population", "the population", questions=_q("city", "population",
        ("How many people live in {x}?", "How many inhabitants does {x} have?",
         "What is the population of {x} today?"),
        ("How populous is {x}?",))),
    Attr("city", "founded", "the founding year", questions=_q("city", "founded",
        ("When was {x} founded?", "In which year was {x} founded?", "What year was {x} founded?"),
        ("When was the city of {x} established?",))),
    Attr("city", "area", "the area", unit=" square kilometres", questions=_q("city", "area",
        ("How big is {x} in square kilometres?", "What area does {x} cover?"),
        ("How large is the surface of {x}?",))),
    Attr("city", "mayor", "the mayor", "person", questions=_q("city", "mayor",
        ("Who is the mayor of {x}?", "Who governs {x} as mayor?"),
        ("Who runs the city of {x}?",))),
    Attr("company", "founded", "the founding year", questions=_q("company", "founded",
        ("When was {x} founded?", "In which year was {x} established?"),
        ("Since when has {x} existed?",))),
    Attr("company", "employees", "the number of employees", questions=_q("company", "employees",
        ("How many employees does {x} have?", "How many people work at {x}?",
         "How many staff does {x} employ?"),
        ("How big is the workforce of {x}?",))),
    Attr("company", "headquarters", "the headquarters city", "city",
        questions=_q("company", "headquarters",
        ("Where is {x} based?", "Where is {x} headquartered?", "In which city is {x} based?"),
        ("Where are the headquarters of {x}?",))),
    Attr("company", "ceo", "the CEO", "person", questions=_q("company", "ceo",
        ("Who is the CEO of {x}?", "Who leads {x}?", "Who runs {x}?"),
        ("Who is in charge of {x}?",))),
    Attr("person", "born", "the birth year", questions=_q("person", "born",
        ("When was {x} born?", "In what year was {x} born?", "What year was {x} born in?"),
        ("In which year did {x} come into the world?",))),
    Attr("person", "occupation", "the occupation", questions=_q("person", "occupation",
        ("What does {x} do for a living?", "What does {x} work as?"),
        ("What is the profession of {x}?",))),
    Attr("person", "city", "the home city", "city", questions=_q("person", "city",
        ("Where does {x} live?", "In which city does {x} live?"),
        ("What city is home to {x}?",))),
    Attr("person", "employer", "the employer", "company", questions=_q("person", "employer",
        ("Where does {x} work?", "Who does {x} work for?", "Which company employs {x}?"),
        ("Who pays the salary of {x}?",))),
    Attr("person", "email", "the e-mail address", questions=_q("person", "email",
        ("How can I e-mail {x}?", "What is the email of {x}?"),
        ("How do I reach {x} by e-mail?",))),
    Attr("event", "date", "the date", questions=_q("event", "date",
        ("When is {x}?", "On what date is {x}?", "What day does {x} take place?"),
        ("When does {x} happen?",))),
    Attr("event", "city", "the host city", "city", questions=_q("event", "city",
        ("Where is {x} held?", "In which city does {x} take place?"),
        ("Which city hosts {x}?",))),
    Attr("event", "organizer", "the organizer", "company", questions=_q("event", "organizer",
        ("Who organises {x}?", "Which company organizes {x}?"),
        ("Who puts on {x}?",))),
    Attr("event", "attendees", "the expected number of attendees",
        questions=_q("event", "attendees",
        ("How many people are expected at {x}?", "How many attendees does {x} expect?",
         "How many visitors will {x} have?"),
        ("How big a crowd is expected at {x}?",))),
    Attr("mountain", "height", "the height", unit=" metres", questions=_q("mountain", "height",
        ("How high is {x}?", "How tall is {x}?", "What is the elevation of {x}?"),
        ("How many metres high is {x}?",))),
    Attr("mountain", "first_ascent", "the year of the first ascent",
        questions=_q("mountain", "first_ascent",
        ("When was {x} first climbed?", "In which year was {x} first climbed?"),
        ("When did anyone first reach the top of {x}?",))),
    Attr("mountain", "city", "the nearest city", "city", questions=_q("mountain", "city",
        ("Which city is near {x}?", "What is the closest city to {x}?"),
        ("Which town lies at the foot of {x}?",))),
    Attr("river", "length", "the length", unit=" kilometres", questions=_q("river", "length",
        ("How long is {x}?", "How many kilometres long is {x}?"),
        ("How far does {x} flow?",))),
    Attr("river", "city", "the largest city on its banks", "city", questions=_q("river", "city",
        ("Which big city lies on {x}?", "What is the largest city on {x}?"),
        ("Which major city does {x} pass through?",))),
    Attr("tower", "height", "the height", unit=" metres", questions=_q("tower", "height",
        ("How tall is {x}?", "How high is {x}?"),
        ("How many metres tall is {x}?",))),
    Attr("tower", "opened", "the opening year", questions=_q("tower", "opened",
        ("When did {x} open?", "When was {x} built?", "In which year did {x} open?"),
        ("Since when has {x} been open?",))),
    Attr("tower", "architect", "the architect", "person", questions=_q("tower", "architect",
        ("Who designed {x}?", "Who was the architect of {x}?"),
        ("Who drew the plans for {x}?",))),
    Attr("tower", "city", "the city", "city", questions=_q("tower", "city",
        ("Where is {x}?", "In which city is {x}?"),
        ("Where can I find {x}?",))),
    Attr("invention", "inventor", "the inventor", "person", questions=_q("invention", "inventor",
        ("Who invented {x}?", "Who made the first {x}?", "Who built {x}?",
         "Who came up with {x}?"),
        ("Whose invention is {x}?",))),
    Attr("invention", "invented", "the year of invention", questions=_q("invention", "invented",
        ("When was {x} invented?", "In which year was {x} invented?",
         "When was the first {x} made?"),
        ("When did {x} first appear?",))),
    Attr("species", "length", "the length", unit=" centimetres", questions=_q("species", "length",
        ("How long is {x}?", "How long can {x} grow?", "How big does {x} get?"),
        ("What size can {x} reach?",))),
    Attr("species", "lifespan", "the lifespan", unit=" years", questions=_q("species", "lifespan",
        ("How long does {x} live?", "How many years can {x} live?",
         "What is the life expectancy of {x}?"),
        ("How old can {x} get?",))),
    Attr("species", "discoverer", "the discoverer", "person",
        questions=_q("species", "discoverer",
        ("Who discovered {x}?", "Who first described {x}?", "Who found {x}?"),
        ("Which scientist identified {x}?",))),
    Attr("species", "discovered", "the year of discovery", questions=_q("species", "discovered",
        ("When was {x} discovered?", "In which year was {x} first described?",
         "What year was {x} found?"),
        ("How long ago was {x} discovered?",))),
)  # fmt: skip


def attr(kind: str, field: str) -> Attr:
    return next(a for a in ATTRS if a.kind == kind and a.field == field)


class Comparison(NamedTuple):
    attr: Attr
    questions: Phrasings  # with {a} and {b}
    verdict: str  # "{w} has more inhabitants: {vw}, against {vl} for {l}."
    highest_wins: bool


def _c(name: str, train: tuple[str, ...], heldout: tuple[str, ...]) -> Phrasings:
    return Phrasings(f"compare.{name}", train, heldout)


COMPARISONS = (
    Comparison(attr("city", "population"), _c("population",
        ("Which has more inhabitants: {a} or {b}?", "Does {a} or {b} have more people?",
         "Which city is bigger by population, {a} or {b}?"),
        ("Of {a} and {b}, which one has more inhabitants?",)),
        "{w} has more inhabitants: {vw}, against {vl} for {l}.", True),
    Comparison(attr("company", "employees"), _c("employees",
        ("Which has more employees: {a} or {b}?", "Does {a} or {b} employ more people?"),
        ("Of {a} and {b}, which one has the larger staff?",)),
        "{w} has more employees: {vw}, against {vl} for {l}.", True),
    Comparison(attr("event", "attendees"), _c("attendees",
        ("Which expects more attendees: {a} or {b}?", "Will {a} or {b} draw a bigger crowd?"),
        ("Between {a} and {b}, which one expects more people?",)),
        "{w} expects more attendees: {vw}, against {vl} for {l}.", True),
    Comparison(attr("city", "founded"), _c("founded",
        ("Which is older: {a} or {b}?", "Which city was founded first, {a} or {b}?"),
        ("Was {a} or {b} founded earlier?",)),
        "{w} is older: founded in {vw}, against {vl} for {l}.", False),
    Comparison(attr("person", "born"), _c("born",
        ("Who is older: {a} or {b}?", "Who was born first, {a} or {b}?"),
        ("Which of {a} and {b} was born earlier?",)),
        "{w} is older: born in {vw}, against {vl} for {l}.", False),
    Comparison(attr("mountain", "height"), _c("mountain",
        ("Which is higher: {a} or {b}?", "Which mountain is taller, {a} or {b}?"),
        ("Is {a} or {b} the higher mountain?",)),
        "{w} is higher: {vw} metres, against {vl} metres for {l}.", True),
    Comparison(attr("river", "length"), _c("river",
        ("Which is longer: {a} or {b}?", "Which river is longer, {a} or {b}?"),
        ("Is {a} or {b} the longer river?",)),
        "{w} is longer: {vw} kilometres, against {vl} kilometres for {l}.", True),
    Comparison(attr("tower", "height"), _c("tower",
        ("Which is taller: {a} or {b}?", "Which one is higher, {a} or {b}?"),
        ("Is {a} or {b} the taller building?",)),
        "{w} is taller: {vw} metres, against {vl} metres for {l}.", True),
)  # fmt: skip


class Total(NamedTuple):
    """A sum (or, for differences, a gap) of one attribute over two entities."""

    attr: Attr
    questions: Phrasings  # with {a} and {b}
    answer: str  # with {a}, {b} and {r}


SUMS = (
    Total(attr("city", "population"), Phrasings("sum.population",
        ("What is the combined population of {a} and {b}?",
         "How many people live in {a} and {b} together?",
         "Add up the populations of {a} and {b}.",
         "How many inhabitants do {a} and {b} have together?"),
        ("Give me the total population of {a} and {b}.",)),
        "The combined population of {a} and {b} is {r}."),
    Total(attr("company", "employees"), Phrasings("sum.employees",
        ("How many employees do {a} and {b} have together?",
         "What is the total number of employees of {a} and {b}?",
         "What is the combined workforce of {a} and {b}?"),
        ("Add the staff of {a} and {b} together.",)),
        "{a} and {b} have {r} employees together."),
    Total(attr("event", "attendees"), Phrasings("sum.attendees",
        ("How many attendees do {a} and {b} expect in total?",
         "What is the combined number of expected attendees of {a} and {b}?",
         "How many people do {a} and {b} expect together?"),
        ("Sum up the expected visitors of {a} and {b}.",)),
        "{a} and {b} expect {r} attendees in total."),
    Total(attr("river", "length"), Phrasings("sum.length",
        ("What is the total length of {a} and {b}?",
         "How many kilometres are {a} and {b} long together?",
         "How long are {a} and {b} combined?"),
        ("Add up the lengths of {a} and {b}.",)),
        "{a} and {b} are {r} kilometres long together."),
)  # fmt: skip

# The held-out shape: no difference request ever reaches training.
DIFFERENCES = (
    Total(attr("city", "population"), Phrasings("difference.population",
        ("How many more inhabitants does {a} have than {b}?",), ()),
        "{a} has {r} more inhabitants than {b}."),
    Total(attr("company", "employees"), Phrasings("difference.employees",
        ("How many more employees does {a} have than {b}?",), ()),
        "{a} has {r} more employees than {b}."),
    Total(attr("mountain", "height"), Phrasings("difference.mountain",
        ("How much higher is {a} than {b}?",), ()),
        "{a} is {r} metres higher than {b}."),
    Total(attr("river", "length"), Phrasings("difference.river",
        ("How much longer is {a} than {b}?",), ()),
        "{a} is {r} kilometres longer than {b}."),
    Total(attr("tower", "height"), Phrasings("difference.tower",
        ("How much taller is {a} than {b}?",), ()),
        "{a} is {r} metres taller than {b}."),
)  # fmt: skip
