"""Strict structured outputs: the rewrite into the subset OpenAI documents (checked by
tests/http_servers.strict_refusal, written from the guide), the way back from an answer to
the schema as given, the json_object fallback, and the request path through a real HTTP
provider that refuses what strict mode refuses, in front of the bundled model."""

import copy
import json
import logging
from pathlib import Path
from typing import Literal

import jsonschema
import pytest
from http_servers import StrictProvider, serving, strict_refusal
from hypothesis import HealthCheck, given, settings
from hypothesis_jsonschema import from_schema
from pydantic import BaseModel, Field, RootModel

from finetune.teacher import teacher_plan_model
from models.chat_model import CompletionError
from models.openai_compat import OpenAIChatModel
from models.strict_schema import MAX_ENUM_VALUES, NotStrict, strict_schema
from planner.judge import verdict_model
from schemas.chat import system, user
from schemas.plan import plan_model
from tools.simulated import SimulatedResult

DATA = Path(__file__).parent / "data" / "mcp_schemas"
MCP = [
    pytest.param(tool["inputSchema"], id=f"{path.stem}/{tool['name']}")
    for path in sorted(DATA.glob("*.json"))
    for tool in json.loads(path.read_text())["tools"]
]


class Inner(BaseModel):
    depth: int = Field(3, ge=0, description="how deep")


class Pick(BaseModel):
    city: str = Field(max_length=16)
    kind: Literal["capital", "town", "village"]
    note: str | None = None
    rank: int = Field(5, ge=1, le=99)
    inner: Inner = Field(description="something nested")
    tags: list[str] = Field(default_factory=list, max_length=3)


class Tree(BaseModel):
    name: str
    children: list["Tree"] = Field(default_factory=list, max_length=2)


# -- the rewrite, rule by rule -------------------------------------------------------------


def test_every_object_is_closed_and_lists_every_property():
    strict = strict_schema(Pick).schema
    assert strict_refusal(strict) is None
    assert strict["required"] == list(Pick.model_fields)
    assert strict["additionalProperties"] is False
    inner = strict["properties"]["inner"]  # inlined: its description sat beside the $ref
    assert inner["additionalProperties"] is False and inner["required"] == ["depth"]
    assert inner["description"] == "something nested" and "$defs" not in strict


def test_optional_properties_become_nullable_and_nullable_ones_stay_as_they_are():
    properties = strict_schema(Pick).schema["properties"]
    assert properties["rank"]["anyOf"][1] == {"type": "null"}
    assert properties["tags"]["anyOf"][1] == {"type": "null"}
    assert properties["note"]["anyOf"] == [{"type": "string"}, {"type": "null"}]  # not doubled
    assert "anyOf" not in properties["city"] and "anyOf" not in properties["kind"]


def test_unsupported_keywords_move_into_the_description():
    strict = strict_schema(Pick)
    city = strict.schema["properties"]["city"]
    assert "maxLength" not in city and "maxLength: 16" in city["description"]
    rank = strict.schema["properties"]["rank"]["anyOf"][0]
    assert rank["minimum"] == 1 and rank["maximum"] == 99  # supported: kept
    assert "(root)/city: maxLength" in strict.moved


def test_formats_outside_the_list_move_and_listed_ones_stay():
    schema = {
        "type": "object",
        "properties": {
            "when": {"type": "string", "format": "date"},
            "page": {"type": "string", "format": "uri"},
        },
        "required": ["when", "page"],
    }
    strict = strict_schema(schema).schema
    assert strict["properties"]["when"]["format"] == "date"
    assert "format" not in strict["properties"]["page"]
    assert 'format: "uri"' in strict["properties"]["page"]["description"]


def test_one_of_becomes_any_of_and_a_single_all_of_is_merged():
    schema = {
        "type": "object",
        "properties": {
            "x": {"oneOf": [{"type": "integer"}, {"type": "string", "maxLength": 3}]},
            "y": {"allOf": [{"type": "string"}], "description": "why"},
        },
        "required": ["x", "y"],
    }
    strict = strict_schema(schema).schema
    assert strict_refusal(strict) is None
    assert [b.get("type") for b in strict["properties"]["x"]["anyOf"]] == ["integer", "string"]
    assert strict["properties"]["y"] == {"type": "string", "description": "why"}


def test_a_recursive_schema_keeps_its_definitions():
    strict = strict_schema(Tree).schema
    assert strict_refusal(strict) is None
    assert strict["$defs"]["Tree"]["additionalProperties"] is False
    items = strict["$defs"]["Tree"]["properties"]["children"]["anyOf"][0]["items"]
    assert items == {"$ref": "#/$defs/Tree"}


@pytest.mark.parametrize(
    "schema, named",
    [
        ({"type": "object", "additionalProperties": {"type": "integer"}}, "map"),
        ({"type": "object"}, "free"),
        ({"type": "array", "items": {"type": "string"}}, "object at the root"),
        (RootModel[Pick | Tree].model_json_schema(), "object at the root"),
        (
            {
                "type": "object",
                "properties": {"p": {"type": "array", "prefixItems": [{"type": "string"}]}},
            },
            "prefixItems",
        ),
        (
            {"type": "object", "properties": {"a": {"allOf": [{"type": "string"}, {}]}}},
            "allOf with 2",
        ),
        ({"type": "object", "properties": {"a": {"$ref": "other.json#/x"}}}, "outside"),
        (
            {"type": "object", "properties": {"a": {"enum": list(range(MAX_ENUM_VALUES + 1))}}},
            "enum values",
        ),
        ({"type": "object", "properties": {"a": {"type": ["string", "integer"]}}}, "types"),
    ],
)
def test_what_strict_mode_cannot_say_is_refused_by_name(schema, named):
    with pytest.raises(NotStrict, match=named):
        strict_schema(schema)


# -- the way back -------------------------------------------------------------------------


def test_restore_drops_the_nulls_that_stand_for_left_out_properties():
    strict = strict_schema(Pick)
    answer = {"city": "Oslo", "kind": "town", "note": None, "rank": None,
              "inner": {"depth": None}, "tags": None}  # fmt: skip
    restored = json.loads(strict.restore(json.dumps(answer)))
    assert restored == {"city": "Oslo", "kind": "town", "note": None, "inner": {}}
    assert Pick.model_validate(restored).rank == 5


def test_restore_reaches_into_arrays_and_recursion_and_leaves_non_json_alone():
    strict = strict_schema(Tree)
    answer = {"name": "a", "children": [{"name": "b", "children": None}]}
    assert json.loads(strict.restore(json.dumps(answer))) == {
        "name": "a",
        "children": [{"name": "b"}],
    }
    assert strict.restore('{"name": "a", "chil') == '{"name": "a", "chil'


PROJECT_SCHEMAS = [
    pytest.param(plan_model(["calculate", "final_answer"]), id="plan"),
    pytest.param(teacher_plan_model(["calculate", "final_answer"]), id="teacher-plan"),
    pytest.param(verdict_model(3), id="judge-verdict"),
    pytest.param(SimulatedResult, id="simulated-tool"),
    pytest.param(Pick, id="pick"),
    pytest.param(Tree, id="tree"),
]


@pytest.mark.parametrize("schema", PROJECT_SCHEMAS)
def test_the_schemas_the_teacher_is_sent_have_a_strict_form(schema):
    assert strict_refusal(strict_schema(schema).schema) is None


# hypothesis-jsonschema cannot generate from a recursive schema: Tree's way back is tested
# above, by hand
GENERATED = [p for p in PROJECT_SCHEMAS if p.id != "tree"]


@pytest.mark.parametrize("schema", [*GENERATED, *MCP])
def test_strict_answers_restored_are_instances_but_for_moved_keywords(schema):
    """Any instance of the strict form, restored, is an instance of the schema as given,
    except where a keyword moved into a description (left to validation) says no."""
    original = schema.model_json_schema() if isinstance(schema, type) else schema
    try:
        strict = strict_schema(schema)
    except NotStrict:
        return  # sent as json_object, and validated the same
    assert strict_refusal(strict.schema) is None
    moved = {entry.rsplit(": ", 1)[1] for entry in strict.moved}
    validator = jsonschema.validators.validator_for(original)(original)

    @settings(max_examples=8, deadline=None, suppress_health_check=list(HealthCheck))
    @given(from_schema(copy.deepcopy(strict.schema)))
    def restored_is_valid(answer):
        restored = json.loads(strict.restore(json.dumps(answer)))
        wrong = {e.validator for e in validator.iter_errors(restored)}
        assert wrong <= moved, (wrong, restored)

    restored_is_valid()


# -- the request path ---------------------------------------------------------------------

ASK = [system("You answer in JSON."), user("Name a city and describe it.")]


@pytest.fixture(scope="module")
def provider(llamacpp_server):
    relay = StrictProvider(llamacpp_server)
    with serving(relay) as url:
        yield relay, OpenAIChatModel(url, "smollm2-135m", grammar_mode="json_schema", max_retries=0)


def test_the_provider_refuses_a_schema_sent_as_it_is(provider):
    relay, model = provider
    relay.answer = None
    form = {"name": "Pick", "schema": Pick.model_json_schema(), "strict": True}
    with pytest.raises(openai_error(), match="additionalProperties must be false"):
        model._client.chat.completions.create(
            model="x", messages=[{"role": "user", "content": "hi"}], max_tokens=4,
            response_format={"type": "json_schema", "json_schema": form},
        )  # fmt: skip


class Choice(BaseModel):
    """Every value here is one that llama-cpp-python's converter (behind the provider)
    enforces in full: it ignores numeric ranges, and strict strings are unbounded."""

    kind: Literal["capital", "town", "village"]
    coastal: bool
    size: Literal["small", "large"] = "small"


def test_a_strict_request_reaches_the_model_and_comes_back_valid(provider):
    relay, model = provider
    relay.answer = None
    for seed in range(3):
        completion = model.complete(ASK, schema=Choice, max_tokens=60, seed=seed, temperature=1)
        assert isinstance(completion.parsed, Choice), completion.text
    sent = relay.chat_requests[-1]["response_format"]  # as the client sent it
    assert sent["type"] == "json_schema" and sent["json_schema"]["strict"] is True
    assert strict_refusal(sent["json_schema"]["schema"]) is None


def test_an_answer_is_restored_then_validated_against_the_schema_as_given(provider):
    relay, model = provider
    relay.answer = json.dumps({"city": "Oslo", "kind": "town", "note": None, "rank": None,
                               "inner": {"depth": 2}, "tags": ["x"]})  # fmt: skip
    completion = model.complete(ASK, schema=Pick, max_tokens=200)
    assert completion.parsed == Pick(city="Oslo", kind="town", inner=Inner(depth=2), tags=["x"])
    relay.answer = relay.answer.replace("Oslo", "Llanfairpwllgwyngyll")  # over maxLength 16
    with pytest.raises(CompletionError, match="city"):
        model.complete(ASK, schema=Pick, max_tokens=200)


class Counts(BaseModel):
    counts: dict[str, int] = Field(description="word counts")


def test_a_schema_without_a_strict_form_goes_as_json_object_said_once(provider, caplog):
    relay, model = provider
    relay.answer = json.dumps({"counts": {"a": 1}})
    with caplog.at_level(logging.WARNING, logger="models.openai_compat"):
        first = model.complete(ASK, schema=Counts, max_tokens=40)
        model.complete(ASK, schema=Counts, max_tokens=40)
    assert first.parsed == Counts(counts={"a": 1})
    sent = relay.chat_requests[-1]
    assert sent["response_format"] == {"type": "json_object"}
    assert '"counts"' in sent["messages"][0]["content"]  # the schema, in the instructions
    lines = [r.getMessage() for r in caplog.records if "Counts" in r.getMessage()]
    assert len(lines) == 1 and "json_object" in lines[0] and "map" in lines[0]
    relay.answer = json.dumps({"counts": {"a": "one"}})
    with pytest.raises(CompletionError):  # validated all the same
        model.complete(ASK, schema=Counts, max_tokens=40)


def test_the_real_model_answers_a_fallback_request(provider):
    relay, model = provider
    relay.answer = None
    try:
        completion = model.complete(ASK, schema=Counts, max_tokens=60)
    except CompletionError as e:
        assert "Counts" in str(e)  # free JSON that is not an instance: refused, in one line
    else:
        assert isinstance(completion.parsed, Counts)


def openai_error():
    import openai

    return openai.BadRequestError
