"""OpenAIChatModel against llama-cpp-python's own OpenAI-compatible server (bundled model)."""

import json
import socket
from typing import Literal, get_args

import pytest
from pydantic import BaseModel, Field

from models.chat_model import CompletionError, ModelError
from models.openai_compat import OpenAIChatModel
from schemas.chat import system, user


class Pick(BaseModel):
    city: str = Field(max_length=16)
    kind: Literal["capital", "town", "village"]
    rank: int = Field(ge=1, le=99)


KINDS = get_args(Pick.model_fields["kind"].annotation)


ASK = [system("You answer in JSON."), user("Name a city and describe it.")]


@pytest.fixture(scope="module")
def served(llamacpp_server):
    return OpenAIChatModel(llamacpp_server, "smollm2-135m", grammar_mode="gbnf", max_retries=0)


def test_gbnf_mode_samples_at_temperature_one_always_validate(served):
    texts = set()
    for seed in range(6):
        c = served.complete(ASK, schema=Pick, temperature=1.0, seed=seed, max_tokens=80)
        assert isinstance(c.parsed, Pick), c.text
        assert c.finish_reason == "stop" and c.model == "smollm2-135m"
        assert c.prompt_tokens > 0 and c.completion_tokens > 0
        texts.add(c.text)
    assert len(texts) > 2


def test_json_object_mode_sends_the_schema_and_validates_what_comes_back(llamacpp_server):
    """The server builds its own grammar from the schema: keys and enums hold, a bound like
    rank's `le=99` need not (a build of llama.cpp wrote 132 at seed 1). What breaks the schema
    is refused with the field named, never returned as parsed."""
    model = OpenAIChatModel(llamacpp_server, "x", grammar_mode="json_object", max_retries=0)
    parsed = 0
    for seed in range(4):
        try:
            c = model.complete(ASK, schema=Pick, temperature=1.0, seed=seed, max_tokens=80)
        except CompletionError as e:
            assert any(f"{field}:" in str(e) for field in Pick.model_fields), e
            sent = json.loads(e.completion.text)
            assert sent.keys() == Pick.model_fields.keys() and sent["kind"] in KINDS, sent
        else:
            parsed += isinstance(c.parsed, Pick)
    assert parsed > 0


def test_a_raw_grammar_reaches_the_server(served):
    c = served.complete([user("Yes or no?")], grammar='root ::= "yes" | "no"', temperature=1.0)
    assert c.text in ("yes", "no")


def test_stream_from_the_server(served):
    pieces = list(served.stream(ASK, schema=Pick, max_tokens=80, seed=2, temperature=1.0))
    assert len(pieces) > 3
    assert Pick.model_validate_json("".join(pieces))


def test_cut_off_json_from_the_server_is_an_error(served):
    with pytest.raises(CompletionError, match="max_tokens=3"):
        served.complete(ASK, schema=Pick, max_tokens=3)


def test_a_server_without_json_schema_support_says_which_mode_failed(llamacpp_server):
    # llama-cpp-python's server knows response_format json_object only.
    model = OpenAIChatModel(llamacpp_server, "x", grammar_mode="json_schema", max_retries=0)
    with pytest.raises(ModelError, match="grammar_mode='json_schema'") as caught:
        model.complete(ASK, schema=Pick, max_tokens=5)
    assert llamacpp_server in str(caught.value) and "\n" not in str(caught.value)


def test_a_raw_grammar_is_refused_where_the_mode_cannot_carry_it():
    model = OpenAIChatModel("http://127.0.0.1:9/v1", "x", grammar_mode="json_schema")
    with pytest.raises(ModelError, match="no raw grammar"):
        model.complete([user("hi")], grammar='root ::= "x"')


def _closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.mark.parametrize("retries", [0, 1])
def test_an_unreachable_server_is_one_clear_line(retries):
    url = f"http://127.0.0.1:{_closed_port()}/v1"
    model = OpenAIChatModel(url, "teacher", max_retries=retries, timeout=5)
    with pytest.raises(ModelError) as caught:
        model.complete([user("hi")])
    message = str(caught.value)
    assert message.startswith(f"cannot reach {url}") and "start the server" in message
    assert "\n" not in message
    with pytest.raises(ModelError, match="cannot reach"):
        list(model.stream([user("hi")]))
