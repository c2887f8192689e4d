"""Keyword by keyword, through llama.cpp with the bundled vocabulary: the regressions of
issue 20 (each failed on the compiler before it) and the keywords compiled since."""

import pytest

from models.matcher import GrammarMatcher
from schemas.grammar import GrammarError, canonical_json, compile_grammar


def grammar(schema, **kw):
    return compile_grammar(schema, **kw)


def accepts(vocab, schema, instance_text: str, **kw) -> bool:
    return GrammarMatcher(vocab, grammar(schema, **kw).gbnf).match(instance_text)[0]


def verdicts(vocab, schema, instances, **kw) -> list[bool]:
    """Each instance written in the grammar's canonical form, then judged by llama.cpp."""
    gbnf = grammar(schema, **kw).gbnf
    formats = kw.get("formats", "assert")
    texts = [canonical_json(i, schema, formats=formats) for i in instances]
    return [GrammarMatcher(vocab, gbnf).match(t)[0] for t in texts]


# -- regressions: crashes and wrong grammars ------------------------------------------------


@pytest.mark.parametrize("names", [True, False])
def test_boolean_property_names(vocab, names):
    schema = {"propertyNames": names}
    assert verdicts(vocab, schema, [{}, {"foo": 1}]) == [True, names]


def test_a_reference_into_prefix_items_loads(vocab):
    schema = {"prefixItems": [{"type": "integer"}, {"$ref": "#/prefixItems/0"}]}
    assert verdicts(vocab, schema, [[1, 2], [1, "foo"]]) == [True, False]


def test_outer_items_apply_to_every_item_through_allof(vocab):
    schema = {"allOf": [{"prefixItems": [{"minimum": 3}]}], "items": {"minimum": 5}}
    assert verdicts(vocab, schema, [[3, 5], [5, 5], [5, 4]]) == [False, True, False]


def test_members_of_a_const_and_of_required_only_names_have_one_order(vocab):
    const = {"const": {"foo": "bar", "baz": "bax"}}
    assert verdicts(vocab, const, [{"baz": "bax", "foo": "bar"}, {"foo": "bar"}]) == [True, False]
    dependent = {"dependentRequired": {"bar": ["foo"]}}
    assert verdicts(vocab, dependent, [{"foo": 1, "bar": 2}, {"bar": 2}]) == [True, False]


def address(country: str, region: str, code: str, pattern: str, regions: list[str]) -> dict:
    return {
        "properties": {
            "country": {"type": "string", "enum": [country]},
            region: {"type": "string", "enum": regions},
            code: {"type": "string", "pattern": pattern},
        },
        "additionalProperties": False,
        "required": ["country", region, code],
    }


def test_a_oneof_whose_exclusions_cannot_merge_falls_back_to_anyof_and_loads(vocab):
    """MaskBench Github_trivial o83689: excluding one branch from another left an allOf
    that merged back into itself, `all-26 ::= all-26`, which llama.cpp refuses. Without
    the outer `type: object` the branches overlap (any string matches all three), so the
    exclusions are needed."""
    schema = {
        "oneOf": [
            address("CAN", "province", "postalCode", "^[A-Z][0-9][A-Z][0-9][A-Z][0-9]$", ["AB"]),
            address("USA", "state", "zipCode", "^[0-9]{5}(-[0-9]{4})?$", ["AL", "AK"]),
            address("MEX", "state", "postalCode", "^[0-9]{5}$", ["AGS", "BC"]),
        ],
    }
    compiled = grammar(schema)
    assert "is enforced as anyOf" in " ".join(compiled.warnings)
    instances = [
        {"country": "USA", "state": "AL", "zipCode": "12345"},
        {"country": "CAN", "province": "AB", "postalCode": "A1B2C3"},
        {"country": "USA", "state": "AL"},
    ]
    assert verdicts(vocab, schema, instances) == [True, True, False]


def test_branches_disjoint_only_under_their_siblings_are_exact(vocab):
    """The branches of o83689 carry no type: alone they overlap (their exclusions do not
    merge, above), but under the outer `type: object` each requires `country` with its own
    value, so no exclusion is needed and the oneOf is exact."""
    schema = {
        "type": "object",
        "oneOf": [
            address("CAN", "province", "postalCode", "^[A-Z][0-9][A-Z][0-9][A-Z][0-9]$", ["AB"]),
            address("USA", "state", "zipCode", "^[0-9]{5}(-[0-9]{4})?$", ["AL", "AK"]),
            address("MEX", "state", "postalCode", "^[0-9]{5}$", ["AGS", "BC"]),
        ],
    }
    assert grammar(schema).warnings == []
    instances = [
        {"country": "USA", "state": "AK", "zipCode": "12345-6789"},
        {"country": "CAN", "province": "AB", "postalCode": "A1B2C3"},
        {"country": "CAN", "state": "AK", "zipCode": "12345"},
        {"country": "MEX", "state": "BC", "postalCode": "12345"},
    ]
    assert verdicts(vocab, schema, instances) == [True, True, False, True]


def test_format_is_a_stated_policy(vocab):
    schema = {"type": "string", "format": "date"}
    assert not accepts(vocab, schema, '"2962"')
    assert not accepts(vocab, schema, '"2023-02-29"') and accepts(vocab, schema, '"2024-02-29"')
    assert not accepts(vocab, schema, '"2100-02-29"') and accepts(vocab, schema, '"2000-02-29"')
    annotated = grammar(schema, formats="annotate")
    assert GrammarMatcher(vocab, annotated.gbnf).match('"2962"')[0]
    assert annotated.warnings == ["format 'date' at # is an annotation (not enforced)"]


def test_draft4_integral_floats_are_not_integers(vocab):
    schema = {"$schema": "http://json-schema.org/draft-04/schema#", "type": "integer"}
    assert verdicts(vocab, schema, [12345, 12345.0]) == [True, False]


# -- oneOf ------------------------------------------------------------------------------------


def test_disjoint_one_of_has_no_warning(vocab):
    schema = {
        "oneOf": [
            {"type": "object", "properties": {"kind": {"const": "cat"}}, "required": ["kind"]},
            {"type": "object", "properties": {"kind": {"const": "dog"}}, "required": ["kind"]},
        ]
    }
    assert grammar(schema).warnings == []
    assert verdicts(vocab, schema, [{"kind": "cat"}, {"kind": "cow"}]) == [True, False]


def test_overlapping_one_of_is_exact(vocab):
    schema = {"oneOf": [{"type": "integer"}, {"minimum": 2}]}
    assert grammar(schema).warnings == []
    assert verdicts(vocab, schema, [1, 2.5, 3, 1.5]) == [True, True, False, False]
    required = {"type": "object", "oneOf": [{"required": ["a"]}, {"required": ["b"]}]}
    assert verdicts(vocab, required, [{"a": 1}, {"b": 1}, {"a": 1, "b": 2}]) == [True, True, False]


# -- keywords compiled instead of refused ------------------------------------------------------


def test_if_then_else(vocab):
    schema = {"if": {"exclusiveMaximum": 0}, "then": {"minimum": -10}, "else": {"multipleOf": 2}}
    assert verdicts(vocab, schema, [-1, -100, 4, 3]) == [True, False, True, False]


def test_contains_counts(vocab):
    schema = {"contains": {"const": 1}, "minContains": 2, "maxContains": 3}
    got = verdicts(vocab, schema, [[1], [1, 2, 1], [1, 1, 1], [1, 1, 1, 1], [2, 1, 2, 1, 2]])
    assert got == [False, True, True, False, True]
    typed = {"type": "array", "items": {"type": "integer"}, "contains": {"minimum": 5}}
    assert verdicts(vocab, typed, [[1, 5], [1, 2], []]) == [True, False, False]


def test_not(vocab):
    schema = {"not": {"type": "object", "properties": {"foo": {"type": "string"}}}}
    assert verdicts(vocab, schema, [1, {"foo": 1}, {"foo": "x"}, {}]) == [True, True, False, False]
    assert verdicts(vocab, {"not": {"type": "integer"}}, [1.5, 2, "x"]) == [True, False, True]


def test_unevaluated_properties(vocab):
    schema = {
        "properties": {"foo": {"type": "string"}},
        "anyOf": [{"properties": {"bar": {"const": "bar"}}, "required": ["bar"]},
                  {"properties": {"baz": {"const": "baz"}}, "required": ["baz"]}],
        "unevaluatedProperties": False,
    }  # fmt: skip
    instances = [
        {"foo": "x", "bar": "bar"},
        {"foo": "x", "bar": "bar", "baz": "baz"},
        {"foo": "x", "bar": "bar", "quux": 1},
    ]
    assert verdicts(vocab, schema, instances) == [True, True, False]


def test_unevaluated_items_with_contains(vocab):
    schema = {"prefixItems": [True], "contains": {"type": "string"}, "unevaluatedItems": False}
    got = verdicts(vocab, schema, [[1, "a"], [1, "a", 2], ["a"], [1, "a", "b"]])
    assert got == [True, False, True, True]


def test_dependent_schemas_and_property_counts(vocab):
    schema = {
        "type": "object",
        "properties": {"a": {"type": "integer"}, "b": {"type": "integer"}, "c": {}},
        "dependentSchemas": {"a": {"required": ["b"]}},
        "minProperties": 2,
        "maxProperties": 2,
    }
    instances = [
        {"a": 1, "b": 2},
        {"a": 1},
        {"b": 1, "c": 2},
        {"a": 1, "c": 2},
        {"a": 1, "b": 2, "c": 3},
    ]
    assert verdicts(vocab, schema, instances) == [True, False, True, False, False]


def test_unique_items_over_a_finite_set(vocab):
    schema = {"type": "array", "items": {"enum": ["a", "b", "c"]}, "uniqueItems": True}
    got = verdicts(vocab, schema, [["a", "b"], ["c", "a", "b"], ["a", "a"], []])
    assert got == [True, True, False, True]


def test_references_through_embedded_ids(vocab):
    schema = {
        "$id": "http://example.com/root.json",
        "properties": {"n": {"$ref": "item.json"}},
        "$defs": {"item": {"$id": "item.json", "type": "integer"}},
    }
    assert verdicts(vocab, schema, [{"n": 1}, {"n": "x"}]) == [True, False]


def test_patterns_as_automata(vocab):
    both = {"type": "string", "allOf": [{"pattern": "a"}, {"pattern": "b"}]}
    assert verdicts(vocab, both, ["xbya", "ab", "aa"]) == [True, True, False]
    bounded = {"type": "string", "pattern": "^[a-z]+$", "maxLength": 3}
    assert verdicts(vocab, bounded, ["abc", "abcd", "ab1"]) == [True, False, False]
    assert verdicts(vocab, {"type": "string", "not": {"pattern": "^a"}}, ["ba", "ab"]) == [
        True,
        False,
    ]


def test_pattern_properties_with_open_extras(vocab):
    schema = {
        "properties": {"foo": {"type": "array"}},
        "patternProperties": {"f.o": {"minItems": 2}, "^x-": {"type": "integer"}},
    }
    instances = [{"foo": [1, 2]}, {"foo": []}, {"x-a": 1}, {"x-a": "s"}, {"fxo": [1]}, {"b": "s"}]
    assert verdicts(vocab, schema, instances) == [True, False, True, False, False, True]


def test_what_has_no_exact_grammar_is_still_refused():
    with pytest.raises(GrammarError, match="'not' over 'multipleOf'") as err:
        compile_grammar({"if": {"multipleOf": 2}, "then": {"maxLength": 3}})
    assert err.value.path == "#/if"


def periodic(depth: int) -> dict:
    """MaskBench Handwritten mod303, smaller: objects nested through "a", every other level
    non-empty (a period-2 reference cycle), and not one constant `depth` levels deep."""
    witness: dict = {}
    for _ in range(depth):
        witness = {"a": witness}
    x0, x1 = {"$ref": "#/definitions/x0"}, {"$ref": "#/definitions/x1"}
    return {
        "allOf": [
            {"$ref": "#/definitions/word"}, x0, {"minProperties": 1},
            {"not": {"const": witness}},
        ],
        "definitions": {
            "word": {
                "type": "object", "properties": {"a": {"$ref": "#/definitions/word"}},
                "additionalProperties": False,
            },
            "x0": {"additionalProperties": x1},
            "x1": {"additionalProperties": x0, "minProperties": 1},
        },
    }  # fmt: skip


def nested(depth: int) -> dict:
    value: dict = {}
    for _ in range(depth):
        value = {"a": value}
    return value


def test_a_negation_through_recursive_references_compiles_deep_and_is_refused_deeper(vocab):
    """Compiling mod303 recursed past Python's default stack (a RecursionError, counted as a
    crash): 40 levels now compile, and what nests deeper still is refused with one line."""
    instances = [nested(2), nested(1), nested(40), nested(42)]
    assert verdicts(vocab, periodic(40), instances) == [True, False, False, True]
    with pytest.raises(GrammarError, match="nest too deeply"):
        compile_grammar(periodic(1000))
