"""Fail closed: what a grammar cannot enforce is refused with the keyword and its path."""

import json

import pytest
from typer.testing import CliRunner

from schemas.grammar import GrammarError, GrammarOptions, compile_grammar
from waypoint.cli import app

REFUSED = {
    "uniqueItems over open items": ({"type": "array", "uniqueItems": True}, "#/uniqueItems"),
    "remote ref": ({"$ref": "other.json#/defs/a"}, "#/$ref"),
    "lookahead": ({"type": "string", "pattern": "^(?=a)a+$"}, "#/pattern"),
    "backreference": ({"type": "string", "pattern": "^(a)\\1$"}, "#/pattern"),
    "not over multipleOf": (
        {"type": "object", "properties": {"a": {"not": {"type": "integer", "multipleOf": 3}}}},
        "#/properties/a/not",
    ),
    "if whose negation has no grammar": ({"if": {"multipleOf": 2}, "then": False}, "#/if"),
    "dynamic reference": ({"$dynamicRef": "#node"}, "#/$dynamicRef"),
    "unknown dialect": ({"$schema": "http://example.com/meta", "type": "string"}, "#/$schema"),
    "unsatisfiable bounds": ({"type": "integer", "minimum": 5, "maximum": 4}, "#"),
    "pattern with format": ({"type": "string", "pattern": "^2", "format": "date"}, "#/pattern"),
}  # fmt: skip


@pytest.mark.parametrize("case", REFUSED)
def test_refused_with_keyword_and_path(case):
    schema, path = REFUSED[case]
    with pytest.raises(GrammarError) as err:
        compile_grammar(schema)
    assert err.value.path == path
    assert str(err.value).endswith(f"at {path}")


def test_unknown_keywords_are_reported_not_silently_skipped():
    schema = {"type": "object", "properties": {"a": {"type": "string", "x-ui": "wide"}}}
    grammar = compile_grammar(schema)
    assert grammar.warnings == ["ignored unknown keyword 'x-ui' at #/properties/a/x-ui"]
    with pytest.raises(GrammarError, match="unknown keyword 'x-ui'"):
        compile_grammar(schema, GrammarOptions(strict=True))


def test_finite_languages_are_exact_even_with_unenforceable_keywords():
    # an enum bounds the language, so any keyword can be decided by validating each value
    schema = {"allOf": [{"enum": [[1, 2], [2, 2], "x"]}, {"type": "array", "uniqueItems": True}]}
    assert compile_grammar(schema).gbnf.count("[1,2]") == 1
    assert "[2,2]" not in compile_grammar(schema).gbnf


def test_every_field_appears_in_declared_order():
    grammar = compile_grammar(
        {"type": "object", "properties": {"z": {"type": "integer"}, "a": {"type": "integer"}},
         "required": ["z", "a"]}
    ).gbnf  # fmt: skip
    assert grammar.index('\\"z\\"') < grammar.index('\\"a\\"')


runner = CliRunner()


def test_cli_compiles_a_json_schema_file(tmp_path):
    path = tmp_path / "s.json"
    path.write_text(json.dumps({"type": "object", "properties": {"n": {"type": "integer"}}}))
    result = runner.invoke(app, ["grammar", "compile", str(path)])
    assert result.exit_code == 0
    assert result.stdout.startswith("root ::= ")


def test_cli_compiles_a_pydantic_class_to_a_file(tmp_path):
    out = tmp_path / "rating.gbnf"
    result = runner.invoke(app, ["grammar", "compile", "schemas.rating:Rating", "--out", str(out)])
    assert result.exit_code == 0
    assert '\\"score\\"' in out.read_text()


@pytest.mark.parametrize(
    ("policy", "year_only"), [(None, False), ("assert", False), ("annotate", True)]
)
def test_cli_format_is_asserted_or_an_annotation_as_stated(tmp_path, vocab, policy, year_only):
    """--formats states the policy: asserted by default (only real dates), or an annotation
    as JSON Schema 2020-12 reads it (the conformance suite's "2962" is then a valid date),
    with a warning that says it is not enforced; --strict refuses that grammar."""
    from models.matcher import GrammarMatcher

    path = tmp_path / "date.json"
    path.write_text(json.dumps({"type": "string", "format": "date"}))
    args = ["grammar", "compile", str(path), *(["--formats", policy] if policy else [])]
    result = runner.invoke(app, args)
    assert result.exit_code == 0, result.output
    gbnf = result.stdout
    assert GrammarMatcher(vocab, gbnf).match('"2024-02-29"')[0]
    assert GrammarMatcher(vocab, gbnf).match('"2962"')[0] is year_only
    assert GrammarMatcher(vocab, gbnf).match('"2023-02-29"')[0] is year_only
    assert ("format 'date' at # is an annotation" in result.stderr) is year_only
    if year_only:
        strict = runner.invoke(app, [*args, "--strict"])
        assert strict.exit_code != 0 and "is an annotation" in str(strict.exception)


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ("{not json", "is not valid JSON"),
        (json.dumps({"type": "array", "uniqueItems": True}), "uniqueItems"),
    ],
)
def test_cli_bad_input_is_one_line_and_exit_2(tmp_path, content, message):
    import subprocess
    import sys

    path = tmp_path / "bad.json"
    path.write_text(content)
    cmd = [
        sys.executable,
        "-c",
        "from waypoint.cli import main; main()",
        "grammar",
        "compile",
        str(path),
    ]
    proc = subprocess.run(cmd, capture_output=True, text=True)
    assert proc.returncode == 2
    assert message in proc.stderr
    assert len(proc.stderr.strip().splitlines()) == 1
    assert "Traceback" not in proc.stderr
