"""The compiler proven against the engine that enforces it: llama.cpp's grammar sampler,
fed token by token with the bundled model's vocabulary."""

import copy
import datetime
import enum
import uuid
from typing import Annotated, Literal

import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st
from hypothesis_jsonschema import from_schema
from pydantic import BaseModel, Field, ValidationError

from models.matcher import GrammarMatcher, Untokenizable
from schemas.grammar import GrammarOptions, canonical_json, canonical_value_json, compile_grammar
from schemas.plan import plan_model
from schemas.rating import Rating, TrajectoryRating


class Color(enum.Enum):
    red = "red"
    green = "green"


class Address(BaseModel):
    street: str = Field(max_length=40)
    number: int = Field(ge=1, le=9999)
    zip: str = Field(pattern=r"^[0-9]{5}$")


class Cat(BaseModel):
    kind: Literal["cat"]
    lives: int = Field(ge=0, le=9)


class Dog(BaseModel):
    kind: Literal["dog"]
    good: bool


class Person(BaseModel):
    name: str = Field(min_length=1, max_length=30)
    nickname: str | None = Field(None, max_length=10)
    born: datetime.date
    wake: datetime.time
    seen: datetime.datetime
    id: uuid.UUID
    color: Color
    score: float = Field(ge=-1.5, lt=100)
    tags: list[str] = Field(default_factory=list, max_length=3)
    address: Address
    pet: Cat | Dog = Field(discriminator="kind")


class Tree(BaseModel):
    label: str = Field(max_length=8)
    children: list["Tree"] = Field(max_length=3)


Pair = Annotated[list[int], Field(min_length=2, max_length=2)]

MODELS = [plan_model(["search", "calculate", "final_answer"]), Rating, TrajectoryRating, Person]
JSON_SCHEMAS = [
    {"type": "object", "properties": {"a": {"type": "integer", "minimum": -120, "maximum": 7000}}},
    {"type": "array", "items": [{"type": "string", "maxLength": 3}, {"type": "boolean"}],
     "additionalItems": False, "minItems": 1},
    {"type": "number", "exclusiveMinimum": 0.25, "maximum": 3.5},
    {"type": "integer", "multipleOf": 7, "minimum": 0},
    {"type": "string", "pattern": "^(ab|c[d-f]+)x?$"},
    {"type": "object", "additionalProperties": {"type": "integer", "minimum": -9, "maximum": 5},
     "maxProperties": 3},
    {"anyOf": [{"type": "null"}, {"type": "string", "format": "date"}]},
    {"type": "object", "properties": {"x": {"type": "integer"}}, "required": ["x"],
     "dependentRequired": {"y": ["x"]}},
]  # fmt: skip


def accepts(vocab, grammar: str, text: str) -> bool:
    return GrammarMatcher(vocab, grammar).match(text)[0]


def within_number_caps(value) -> bool:
    """Numbers are bounded by design (20 integer and 20 fraction digits, no exponent)."""
    if isinstance(value, dict):
        return all(within_number_caps(v) for v in value.values())
    if isinstance(value, list):
        return all(within_number_caps(v) for v in value)
    if isinstance(value, int | float) and not isinstance(value, bool):
        whole, _, frac = canonical_value_json(value).lstrip("-").partition(".")
        return len(whole) <= 20 and len(frac) <= 20
    return True


def accepts_generated(vocab, grammar: str, text: str) -> bool:
    """For generated text: characters the vocabulary cannot spell are skipped, not judged."""
    try:
        return accepts(vocab, grammar, text)
    except Untokenizable:
        assume(False)
        raise


def closed(schema):
    """The schema a Pydantic class compiles as: objects take no undeclared keys."""
    if isinstance(schema, dict):
        schema = {k: closed(v) for k, v in schema.items()}
        if schema.get("type") == "object" and "additionalProperties" not in schema:
            schema["additionalProperties"] = False
    elif isinstance(schema, list):
        schema = [closed(v) for v in schema]
    return schema


@pytest.mark.parametrize("model", MODELS, ids=lambda m: m.__name__)
def test_pydantic_instances_are_accepted(vocab, model):
    grammar = compile_grammar(model).gbnf
    schema = closed(model.model_json_schema())

    @settings(max_examples=25, deadline=None, suppress_health_check=list(HealthCheck))
    # hypothesis-jsonschema rewrites the schema it is given: hand it a copy
    @given(from_schema(copy.deepcopy(schema), custom_formats={"uuid": st.uuids().map(str)}))
    def check(instance):
        # hypothesis-jsonschema does not enforce every format (uuid): Pydantic has the last word
        try:
            model.model_validate(instance)
        except ValidationError:
            assume(False)
        assume(within_number_caps(instance))
        text = canonical_json(instance, schema)
        assert accepts_generated(vocab, grammar, text), text

    check()


@pytest.mark.parametrize("schema", JSON_SCHEMAS, ids=range(len(JSON_SCHEMAS)))
def test_json_schema_instances_are_accepted(vocab, schema):
    grammar = compile_grammar(schema).gbnf

    @settings(max_examples=30, deadline=None, suppress_health_check=list(HealthCheck))
    @given(from_schema(copy.deepcopy(schema)))
    def check(instance):
        assume(within_number_caps(instance))
        text = canonical_json(instance, schema)
        assert accepts_generated(vocab, grammar, text), text

    check()


def test_model_dump_is_the_canonical_form(vocab):
    plan = plan_model(["search", "final_answer"])
    p = plan(context='a "quote" and \\ and é', thoughts="line\nbreak", task="t", tool="search")
    assert accepts(vocab, compile_grammar(plan).gbnf, p.model_dump_json())


def test_recursive_model(vocab):
    grammar = compile_grammar(Tree).gbnf
    tree = Tree(label="a", children=[Tree(label="b", children=[Tree(label="c", children=[])])])
    assert accepts(vocab, grammar, tree.model_dump_json())
    assert not accepts(vocab, grammar, '{"label":"a","children":[{"label":"b"}]}')


class Segment(BaseModel):
    p: Pair


def test_exact_array_length(vocab):
    grammar = compile_grammar(Segment).gbnf
    assert accepts(vocab, grammar, '{"p":[1,2]}')
    assert not accepts(vocab, grammar, '{"p":[1]}')
    assert not accepts(vocab, grammar, '{"p":[1,2,3]}')


PERSON_OK = Person(
    name="Ada", born=datetime.date(1815, 12, 10), wake=datetime.time(6, 30, tzinfo=datetime.UTC),
    seen=datetime.datetime(2024, 1, 2, 3, 4, 5, tzinfo=datetime.UTC),
    id=uuid.UUID("12345678-1234-5678-1234-567812345678"), color=Color.red, score=3.25,
    address=Address(street="Main", number=12, zip="12345"), pet=Cat(kind="cat", lives=9),
)  # fmt: skip

INVALID_PERSON_EDITS = {
    "unknown enum value": ('"color":"red"', '"color":"blue"'),
    "missing field": (',"wake":"06:30:00Z"', ""),
    "string too long": ('"name":"Ada"', '"name":"' + "A" * 31 + '"'),
    "empty string below minLength": ('"name":"Ada"', '"name":""'),
    "integer above maximum": ('"number":12', '"number":10000'),
    "number at exclusive maximum": ('"score":3.25', '"score":100'),
    "number below minimum": ('"score":3.25', '"score":-1.6'),
    "bad month in date": ('"born":"1815-12-10"', '"born":"1815-13-10"'),
    "pattern violated": ('"zip":"12345"', '"zip":"1234a"'),
    "discriminator mismatch": ('"kind":"cat","lives":9', '"kind":"dog","lives":9'),
    "extra property": ('"tags":[]', '"tags":[],"extra":1'),
    "bad uuid": ("12345678-1234", "1234567-1234"),
    "null for a required string": ('"name":"Ada"', '"name":null'),
    "properties out of declared order": (
        '"name":"Ada","nickname":null',
        '"nickname":null,"name":"Ada"',
    ),
}


def test_person_valid_instance(vocab):
    assert accepts(
        vocab,
        compile_grammar(Person).gbnf,
        canonical_json(PERSON_OK.model_dump(mode="json"), Person),
    )


@pytest.mark.parametrize("case", INVALID_PERSON_EDITS)
def test_invalid_instances_are_rejected(vocab, case):
    good = canonical_json(PERSON_OK.model_dump(mode="json"), Person)
    old, new = INVALID_PERSON_EDITS[case]
    assert old in good, f"edit target missing from {good}"
    assert not accepts(vocab, compile_grammar(Person).gbnf, good.replace(old, new, 1))


def test_default_caps_bound_strings_and_arrays(vocab):
    schema = {"type": "object", "properties": {"s": {"type": "string"}, "a": {"type": "array"}}}
    grammar = compile_grammar(schema, GrammarOptions(max_string_length=5, max_items=2)).gbnf
    assert accepts(vocab, grammar, '{"s":"abcde","a":[1,2]}')
    assert not accepts(vocab, grammar, '{"s":"abcdef"}')
    assert not accepts(vocab, grammar, '{"a":[1,2,3]}')


def test_open_objects_take_extra_keys_but_not_duplicates(vocab):
    schema = {"type": "object", "properties": {"a": {"type": "integer"}}}
    grammar = compile_grammar(schema).gbnf
    assert accepts(vocab, grammar, '{"a":1,"b":[true,null,{"c":"d"}]}')
    assert not accepts(vocab, grammar, '{"a":1,"a":2}')
    closed = compile_grammar(schema, GrammarOptions(additional_properties=False)).gbnf
    assert not accepts(vocab, closed, '{"a":1,"b":2}')


def test_flexible_whitespace_is_bounded(vocab):
    options = GrammarOptions(whitespace="flexible", max_whitespace=2)
    grammar = compile_grammar(Rating, options).gbnf
    assert accepts(vocab, grammar, '{ "explanation" : "ok",\n "score": 4 }')
    assert not accepts(vocab, grammar, '{"explanation":"ok",     "score":4}')


def test_pattern_applies_to_the_decoded_string(vocab):
    # `.` matches a quote character; in JSON text the quote must be escaped
    grammar = compile_grammar({"type": "string", "pattern": "^a.b$"}).gbnf
    assert accepts(vocab, grammar, '"a\\"b"')
    assert not accepts(vocab, grammar, '"a"b"')
    assert not accepts(vocab, grammar, '"a\\nb"')  # `.` excludes newlines


def test_an_optional_group_is_optional_as_a_whole(vocab):
    # `(-[0-9A-Za-z]+)?` is one optional unit, not a required "-" before an optional tail
    pattern = r"^[0-9]\.[0-9]\.[0-9](-[0-9A-Za-z]+)?$"
    grammar = compile_grammar({"type": "string", "pattern": pattern}).gbnf
    assert accepts(vocab, grammar, '"1.2.3"') and accepts(vocab, grammar, '"1.2.3-rc1"')
    assert not accepts(vocab, grammar, '"1.2.3-"') and not accepts(vocab, grammar, '"1.2"')
    # llama.cpp refuses to make a group optional when it holds a long repetition: named
    duration = r"^P([0-9]+Y)?(T([0-9]+H)?([0-9]+S)?)?$"
    options = GrammarOptions(max_string_length=1999)
    grammar = compile_grammar({"type": "string", "pattern": duration}, options).gbnf
    assert accepts(vocab, grammar, '"PT1H30S"') and accepts(vocab, grammar, '"P2Y"')
    assert not accepts(vocab, grammar, '"PT"1"')


@given(st.integers(min_value=-(10**6), max_value=10**6), st.integers(min_value=0, max_value=3000))
@settings(max_examples=40, deadline=None)
def test_integer_ranges_are_exact(vocab, lo, width):
    hi = lo + width
    grammar = compile_grammar({"type": "integer", "minimum": lo, "maximum": hi}).gbnf
    for value in (lo - 1, lo, (lo + hi) // 2, hi, hi + 1):
        assert accepts(vocab, grammar, str(value)) == (lo <= value <= hi), value
