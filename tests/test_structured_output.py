"""Structured output is validated after decoding against the whole schema, for JSON Schema
dicts (jsonschema) as for Pydantic classes, and what a grammar cannot enforce is never
dropped silently: it is logged, carried on the Completion, and refused by a strict model."""

import logging

import pytest

from models.chat_model import CompletionError
from models.structured import LooseSchemaError, check_schema, finish
from schemas.chat import Completion, user

# the compiler does not enforce the ipv6 format (an annotation to it); jsonschema checks it
IPV6 = {"type": "string", "format": "ipv6", "maxLength": 40}
NAME = {
    "type": "object",
    "properties": {"name": {"type": "string", "maxLength": 5}, "kind": {"enum": ["a", "b"]}},
    "required": ["name", "kind"],
}


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        ('{"name": "toolong", "kind": "a"}', "$.name: 'toolong' is too long"),
        ('{"name": "ok", "kind": "c"}', "$.kind: 'c' is not one of ['a', 'b']"),
        ('{"name": "ok"}', "$: 'kind' is a required property"),
        ('"fe80::1::2"', "is not a 'ipv6'"),
    ],
)
def test_a_json_schema_dict_is_validated_after_decoding(text, problem):
    schema = IPV6 if text.startswith('"') else NAME
    with pytest.raises(CompletionError, match="not a valid schema") as caught:
        finish(Completion(text=text, model="m"), schema, 64)
    assert problem in str(caught.value)


def test_a_valid_instance_is_parsed_with_the_grammar_s_warnings():
    done = finish(Completion(text='"::1"', model="m"), IPV6, 64)
    assert done.parsed == "::1"
    assert done.schema_warnings == ["format 'ipv6' at # is not enforced (annotation)"]


def test_the_bundled_model_s_output_is_checked_and_the_warning_logged(chat_model, caplog):
    schema = {**IPV6, "title": "Address"}
    refused = pytest.raises(CompletionError, match=r"not a valid Address: .*is not a 'ipv6'")
    with caplog.at_level(logging.WARNING, logger="models.structured"), refused:
        chat_model.complete([user("Name a fruit.")], schema=schema, max_tokens=48)
    assert "grammar for Address: format 'ipv6' at # is not enforced" in caplog.text


def test_a_strict_model_refuses_such_a_schema_before_decoding(chat_model, monkeypatch):
    monkeypatch.setattr(chat_model, "strict_schemas", True)
    with pytest.raises(LooseSchemaError, match="would not enforce all of it: format 'ipv6'"):
        chat_model.complete([user("Name a fruit.")], schema=IPV6, max_tokens=48)
    check_schema(NAME, strict=True)  # a schema the grammar enforces in full passes
