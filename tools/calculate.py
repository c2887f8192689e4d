"""`calculate`: a task in words → an arithmetic expression → its value, computed safely.

The expression is the one written out in the task when there is exactly one ("What is
17 * 23?", "15% of 80"), and a unit conversion written out ("Convert 408 months to years")
is computed with pint; when the task has a number the run never saw and the request writes
out a calculation of another value, the request's is taken instead. A task whose numbers
the run never saw, where the request has no calculation to fall back on, is refused: the
planner has to find its numbers first. Otherwise the tool asks its model for an expression,
under a grammar that admits arithmetic on the numbers the run has stated and a few factors
a task implies (`grounded`), with the earlier results as context. Either way the text goes
to `tools.arithmetic.evaluate`, never to eval/exec.
"""

import re
from collections.abc import Iterable
from typing import Any, NamedTuple, Self

from pydantic import BaseModel, Field

from models.chat_model import ChatModel
from schemas.trajectory import Scratchpad
from tools import prompts
from tools.arithmetic import (
    FUNCTIONS,
    MAX_LENGTH,
    digits_in,
    evaluate,
    find_expression,
    format_number,
    known_numbers,
    numbers_in,
)
from tools.base import Observation, ToolError
from tools.context import ToolContext
from tools.function_calling import ArgumentTool
from tools.units import find_conversion


class Expression(BaseModel):
    expression: str = Field(
        pattern=rf"^[0-9a-z_+\-*/%(). ,]{{1,{MAX_LENGTH}}}$",
        description="one arithmetic expression that computes what the task asks",
    )


# Factors a task may imply without stating them: twice, half or the average, a dozen, days
# of a week or year, hours, minutes, per cent, kilo. Any other number in a derived
# expression is one the run has seen.
FACTORS = frozenset({"2", "7", "12", "24", "60", "100", "365", "1000", "3600"})
_PLAIN = re.compile(r"\d+(?:\.\d+)?")
_OPERATOR = r"(?: ?(?:\*\*|//|[+\-*/%]) ?)"
_FUNCTION = "(?:" + "|".join(sorted(FUNCTIONS, key=len, reverse=True)) + ")"
# Parentheses nest this deep: `max((a - b) / 2, c)` is depth 2. A pattern cannot count,
# so each level is written out; the tool's token budget bounds the length anyway.
_DEPTH, _TERMS = 2, 6


def _expression(operand: str, depth: int) -> str:
    """A pattern for arithmetic over `operand`s whose parentheses balance and whose commas
    only separate a function's arguments (`1000,24` would reach the evaluator as a tuple)."""
    if depth > 0:
        inner = _expression(operand, depth - 1)
        call = rf"{_FUNCTION}\({inner}(?:, ?{inner}){{0,2}}\)"
        operand = rf"(?:{operand}|\({inner}\)|{call})"
    term = f"-?{operand}"
    return f"{term}(?:{_OPERATOR}{term}){{0,{_TERMS - 1}}}"


def grounded(numbers: Iterable[str]) -> dict[str, Any]:
    """Expression's schema, narrowed to well-formed arithmetic on `numbers`: a caller can
    copy a number of the run but cannot mistype one, glue two together or make one up."""
    plain = sorted({n for n in numbers if _PLAIN.fullmatch(n)}, key=lambda n: (-len(n), n))
    operand = "(?:" + "|".join(re.escape(n) for n in plain) + ")"
    schema = Expression.model_json_schema() | {"additionalProperties": False}
    schema["properties"]["expression"]["pattern"] = f"^{_expression(operand, _DEPTH)}$"
    return schema


class Calculate(ArgumentTool):
    name = "calculate"
    argument_schema = Expression
    argument_tokens = 96
    description = (
        "Computes a number from an arithmetic task that states the numbers, "
        "e.g. 'Multiply 17 by 23' or 'Subtract 1889 from 2024'."
    )

    def __init__(self, model: ChatModel | None = None) -> None:
        self.model = model  # only needed when the task does not spell out the expression

    @classmethod
    def from_context(cls, context: ToolContext) -> Self:
        return cls(context.model)

    def run(self, request: str, task: str, scratchpad: Scratchpad) -> Observation:
        worked, stated, known = work_out(task), numbers_in(task), known_numbers(request, scratchpad)
        # A number that neither the request nor a result states may be one the planner made
        # up: a small one rewrites "50 per cent of 900" as `Calculate 900 / 100 * 100.` and
        # "3 miles to kilometres" as `Calculate 3 * 1000.` When the request writes out its
        # own calculation and gets another value, that one is worked out instead; a known
        # factor (`Calculate 408 / 12.` for months) stays as planned.
        asked = work_out(request) if not stated <= known else None
        if asked is not None and (worked is None or worked.value != asked.value):
            worked = asked
        # "the speed of light" as `Calculate 2 * 2.`; "the two populations" names no number
        digits = digits_in(task)
        made_up = bool(digits) and not digits & known
        from_nothing = worked is None and not known  # a model would make the numbers up
        if asked is None and (made_up or from_nothing):
            raise ToolError(
                "the task uses no number that the request or a result states: "
                "find the numbers first"
            )
        if worked is not None:
            return Observation(text=worked.text)
        if self.model is None:
            raise ToolError(f"no arithmetic expression in the task {task!r}")
        return self.execute(self.derive(request, task, scratchpad))

    def call_schema(self, request: str, task: str, scratchpad: Scratchpad) -> dict[str, Any]:
        return grounded(numbers_in(task) | known_numbers(request, scratchpad) | FACTORS)

    def argument_notes(self) -> str:
        return prompts.EXPRESSION_NOTES.format(functions=", ".join(FUNCTIONS))

    def execute(self, arguments: Expression) -> Observation:
        return Observation(text=_worked(arguments.expression).text)


class Worked(NamedTuple):
    text: str  # "17 * 23 = 391", "408 months = 34 years"
    value: str  # "391", "34"


def work_out(task: str) -> Worked | None:
    """The calculation a task writes out, computed, or None when it writes out none and a
    model has to derive one."""
    if (expression := find_expression(task)) is not None:
        return _worked(expression)
    if (conversion := find_conversion(task)) is not None:
        value = format_number(conversion.result)
        amount = format_number(conversion.value)
        return Worked(f"{amount} {conversion.unit} = {value} {conversion.to}", value)
    return None


def _worked(expression: str) -> Worked:
    value = format_number(evaluate(expression))
    return Worked(f"{expression} = {value}", value)
