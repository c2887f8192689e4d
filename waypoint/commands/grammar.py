"""`waypoint grammar`: compile a schema to the GBNF grammar llama.cpp enforces."""

import importlib
import json
from pathlib import Path
from typing import Annotated, Any, get_args

import typer

from schemas.errors import WaypointError, validation_problem

app = typer.Typer(help="Compile Pydantic models and JSON Schemas to GBNF.", no_args_is_help=True)
OPTIONS = {"whitespace": "whitespace", "max_string_length": "max-string", "max_items": "max-items"}


def load_schema(source: str) -> Any:
    """A JSON Schema file, or `package.module:Model` naming a Pydantic class."""
    path = Path(source)
    if path.suffix == ".json" or path.exists():
        if not path.is_file():
            raise WaypointError(f"no such schema file: {source}")
        try:
            return json.loads(path.read_text())
        except json.JSONDecodeError as e:
            raise WaypointError(f"{source} is not valid JSON: {e}") from e
    module_name, _, attr = source.partition(":")
    if not attr:
        raise WaypointError(f"{source!r} is neither a .json file nor module:Model")
    try:
        obj = getattr(importlib.import_module(module_name), attr)
    except (ImportError, AttributeError) as e:
        raise WaypointError(f"cannot import {source}: {e}") from e
    return obj


def format_policy(value: str) -> Any:
    """--formats as a `schemas.grammar.FormatPolicy`, or one line naming the choices."""
    from schemas.grammar import FormatPolicy

    choices = get_args(FormatPolicy)
    if value not in choices:
        raise WaypointError(f"--formats: must be {' or '.join(map(repr, choices))}, not {value!r}")
    return value


@app.command("compile")
def compile_command(
    schema: Annotated[str, typer.Argument(help="SCHEMA.json or package.module:Model")],
    out: Annotated[Path | None, typer.Option("--out", "-o", help="write the GBNF here")] = None,
    whitespace: Annotated[str, typer.Option(help="compact or flexible")] = "compact",
    max_string: Annotated[int, typer.Option(help="cap for strings without maxLength")] = 512,
    max_items: Annotated[int, typer.Option(help="cap for arrays without maxItems")] = 64,
    formats: Annotated[
        str,
        typer.Option(
            help="assert: only well-formed values of known formats; annotate: `format` is an "
            "annotation, as JSON Schema 2020-12 says (a warning where one is not enforced)"
        ),
    ] = "assert",
    strict: Annotated[
        bool, typer.Option(help="refuse a schema the grammar would not enforce in full")
    ] = False,
) -> None:
    """Print (or write) the GBNF grammar for a schema, and what it cannot enforce of it
    (warnings on stderr; --strict refuses such a schema instead).

    Examples:

      waypoint grammar compile schemas/examples/plan.json

      waypoint grammar compile schemas.rating:Rating --out rating.gbnf --strict

      waypoint grammar compile schema.json --formats annotate
    """
    from pydantic import ValidationError

    from models.structured import refuse_warnings
    from schemas.grammar import GrammarOptions, compile_grammar

    given = {"whitespace": whitespace, "max_string_length": max_string, "max_items": max_items}
    try:
        options = GrammarOptions(strict=strict, **given)
    except ValidationError as e:
        field, _, problem = validation_problem(e).partition(": ")
        raise WaypointError(f"--{OPTIONS.get(field, field)}: {problem}") from e
    policy = format_policy(formats)
    grammar = compile_grammar(load_schema(schema), options, formats=policy)
    if strict:
        refuse_warnings(grammar, schema)
    for warning in grammar.warnings:
        typer.echo(f"warning: {warning}", err=True)
    if out is None:
        typer.echo(grammar.gbnf, nl=False)
        return
    try:
        out.write_text(grammar.gbnf)
    except OSError as e:
        raise WaypointError(f"cannot write {out}: {e.strerror}") from e
    typer.echo(f"wrote {out} ({len(grammar.gbnf.splitlines())} rules)", err=True)
