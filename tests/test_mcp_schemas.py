"""The argument schemas of real MCP servers under waypoint's compiler: the tool lists of 13
published servers (tests/data/mcp_schemas/, captured with `bench/mcp_schemas.py --capture`).
Each schema compiles as an MCP tool's arguments do, its grammar loads in llama.cpp and
accepts valid instances; the ones the compiler refuses are named here with the keyword it
names. `python bench/mcp_schemas.py` prints the counts beside llama.cpp's own converter."""

import copy
import json
from pathlib import Path

import jsonschema
import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis_jsonschema import from_schema

from models.matcher import GrammarMatcher, Untokenizable
from schemas.grammar import (
    GrammarError,
    GrammarOptions,
    canonical_json,
    canonical_value_json,
    compile_grammar,
)
from tools.mcp.arguments import argument_schema

DATA = Path(__file__).parent / "data" / "mcp_schemas"
TOOLS = [
    pytest.param(tool["inputSchema"], id=f"{path.stem}/{tool['name']}")
    for path in sorted(DATA.glob("*.json"))
    for tool in json.loads(path.read_text())["tools"]
]
# What the compiler refuses today, and the keyword its error names. A schema that starts
# to compile makes its test fail: take it off this list.
REFUSED = {"fetch/fetch": "format"}
CAPS = GrammarOptions()  # the defaults every tool's arguments compile with


def within_caps(value) -> bool:
    """Strings, arrays and numbers are bounded by design (the compiler's default caps)."""
    if isinstance(value, dict):
        return all(within_caps(v) for v in value.values())
    if isinstance(value, list):
        return len(value) <= CAPS.max_items and all(within_caps(v) for v in value)
    if isinstance(value, str):
        return len(value) <= CAPS.max_string_length
    if isinstance(value, int | float) and not isinstance(value, bool):
        whole, _, fraction = canonical_value_json(value).lstrip("-").partition(".")
        return len(whole) <= CAPS.max_integer_digits and len(fraction) <= CAPS.max_fraction_digits
    return True


def test_the_data_holds_the_published_servers():
    servers = {path.stem for path in DATA.glob("*.json")}
    assert {"filesystem", "git", "fetch", "memory", "time", "sqlite", "everything"} <= servers
    assert len(TOOLS) >= 100


@pytest.mark.parametrize("input_schema", TOOLS)
def test_a_real_argument_schema_compiles_or_is_refused_by_name(vocab, input_schema, request):
    tool = request.node.callspec.id
    schema = argument_schema(input_schema)
    if tool in REFUSED:
        with pytest.raises(GrammarError, match=rf"{REFUSED[tool]}.* at #/"):
            compile_grammar(schema)
        return
    matcher = GrammarMatcher(vocab, compile_grammar(schema).gbnf)  # llama.cpp parses it

    @settings(max_examples=2, deadline=None, suppress_health_check=list(HealthCheck))
    @given(from_schema(copy.deepcopy(schema)))
    def valid_instances_are_accepted(instance):
        jsonschema.validate(instance, input_schema)  # closing only narrowed the schema
        assume(within_caps(instance))
        text = canonical_json(instance, schema)
        try:
            accepted, why = matcher.clone().match(text)
        except Untokenizable:
            assume(False)
            raise
        assert accepted, f"{why}: {text[:300]}"

    valid_instances_are_accepted()
