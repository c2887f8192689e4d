"""Safe arithmetic: find an expression in plain text and evaluate it within bounds.

Model-written text never reaches eval/exec. simpleeval walks the parsed syntax tree; this
module narrows it to arithmetic (numbers, + - * / // % **, a few math functions and
constants; no strings, attributes, comparisons or other names) and checks the size of
every result before computing it, so `9**9**9` or `factorial(10**6)` is refused at once
instead of running for hours.
"""

import ast
import math
import operator
import re
from collections.abc import Callable
from typing import Any

from simpleeval import InvalidExpression, SimpleEval
from text_to_num import alpha2digit

from schemas.trajectory import Scratchpad
from tools.base import ToolError

Number = int | float

MAX_LENGTH = 200  # characters; also keeps the parser's nesting far from its limits
MAX_DIGITS = 1000  # of any integer, intermediate or final
_MAX_BITS = math.ceil(MAX_DIGITS * math.log2(10))


class ExpressionError(ToolError):
    """The expression is not arithmetic, is refused, or has no finite real value."""


def _check_bits(bits: float) -> None:
    if bits > _MAX_BITS:
        raise ExpressionError(f"refused: the result would have more than {MAX_DIGITS} digits")


def _power(base: Number, exponent: Number) -> Number:
    if isinstance(base, int) and isinstance(exponent, int) and exponent > 0 and abs(base) > 1:
        _check_bits(exponent * math.log2(abs(base)))
    result = base**exponent
    if isinstance(result, complex):
        raise ExpressionError(f"{base} ** {exponent} has no real value")
    return result


def _multiply(a: Number, b: Number) -> Number:
    if isinstance(a, int) and isinstance(b, int):
        _check_bits(a.bit_length() + b.bit_length())
    return a * b


def _factorial(n: Number) -> int:
    if isinstance(n, float) and n.is_integer():
        n = int(n)
    if not isinstance(n, int) or n < 0:
        raise ExpressionError(f"factorial needs a whole number ≥ 0, not {n}")
    _check_bits(math.lgamma(n + 1) / math.log(2))
    return math.factorial(n)


OPERATORS: dict[type[ast.AST], Callable[..., Number]] = {
    ast.Add: operator.add,
    ast.Sub: operator.sub,
    ast.Mult: _multiply,
    ast.Div: operator.truediv,
    ast.FloorDiv: operator.floordiv,
    ast.Mod: operator.mod,
    ast.Pow: _power,
    ast.USub: operator.neg,
    ast.UAdd: operator.pos,
}

FUNCTIONS: dict[str, Callable[..., Number]] = {
    "abs": abs, "round": round, "min": min, "max": max,
    "sqrt": math.sqrt, "exp": math.exp, "log": math.log, "log10": math.log10,
    "log2": math.log2, "sin": math.sin, "cos": math.cos, "tan": math.tan,
    "floor": math.floor, "ceil": math.ceil, "factorial": _factorial,
}  # fmt: skip

CONSTANTS: dict[str, float] = {"pi": math.pi, "e": math.e}


class _Arithmetic(SimpleEval):
    """simpleeval limited to the node types of arithmetic."""

    def __init__(self) -> None:
        super().__init__(operators=OPERATORS, functions=FUNCTIONS, names=CONSTANTS)
        self.nodes = {
            ast.Expr: self._eval_expr,
            ast.BinOp: self._eval_binop,
            ast.UnaryOp: self._eval_unaryop,
            ast.Call: self._eval_function,
            ast.Name: self._eval_name,
            ast.Constant: self._eval_number,
        }

    @staticmethod
    def _eval_number(node: ast.Constant) -> Number:
        # bool is an int subclass and complex literals (1j) parse as constants too
        if type(node.value) not in (int, float):
            raise ExpressionError(f"only numbers are allowed, not {node.value!r}")
        return node.value

    def _eval_function(self, node: ast.Call) -> Any:
        if node.keywords:
            raise ExpressionError("functions take positional arguments only")
        return self._eval_call(node)


def evaluate(expression: str) -> Number:
    """The value of an arithmetic expression, or ExpressionError saying why not."""
    if len(expression) > MAX_LENGTH:
        raise ExpressionError(f"refused: the expression is longer than {MAX_LENGTH} characters")
    try:
        tree = ast.parse(expression.strip(), mode="eval")
    except SyntaxError as e:
        raise ExpressionError(f"not an arithmetic expression: {expression!r}") from e
    try:
        value = _Arithmetic().eval(expression, previously_parsed=tree.body)
    except ExpressionError:
        raise
    except ZeroDivisionError as e:
        raise ExpressionError(f"division by zero in {expression!r}") from e
    except OverflowError as e:
        raise ExpressionError(f"refused: {expression!r} overflows ({e})") from e
    except (InvalidExpression, ValueError, TypeError) as e:
        raise ExpressionError(f"cannot evaluate {expression!r}: {e}") from e
    if isinstance(value, float) and not math.isfinite(value):
        raise ExpressionError(f"{expression!r} has no finite value")
    return value


def format_number(value: Number) -> str:
    """Integers in full; floats to 12 significant digits, as integers when whole."""
    if isinstance(value, float):
        if value.is_integer() and abs(value) < 1e15:
            return str(int(value))
        return format(value, ".12g")
    return str(value)


# A run of digits, operators, parentheses and calls of the functions ("max(3, 4)") that
# starts and ends with an operand; an operator or a call makes it a calculation.
_CALL = rf"\b(?:{'|'.join(FUNCTIONS)})\s*\("
_CANDIDATE = re.compile(rf"(?:{_CALL}|[\d(])(?:{_CALL}|[\d\s.,+\-*/^×÷()])*[\d)]")
_OPERATOR = re.compile(rf"[\d)]\s*(?:\*\*|[+\-*/^×÷])\s*[\d(]|{_CALL}")
THOUSANDS = re.compile(r"(?<=\d),(?=\d{3}\b)")  # "1,250" → "1250"
_ISO_DATE = re.compile(r"\b\d{4}-\d{1,2}-\d{1,2}\b")
_SYMBOLS = str.maketrans({"×": "*", "÷": "/"})
_PERCENT_OF = re.compile(r"(\d(?:[\d.]*\d)?)\s*(?:%|percent\b|per cent\b)\s*of\s+", re.IGNORECASE)


def find_expression(text: str) -> str | None:
    """The one arithmetic expression written out in `text` ("What is 17 * 23?" → "17 * 23"),
    or None when there is none or more than one. `^` is read as a power, as people write it;
    in prose `%` means percent: "15% of 80" (or "15 per cent of 80") is 15 / 100 * 80."""
    text = _PERCENT_OF.sub(r"\1 / 100 * ", _ISO_DATE.sub(" ", THOUSANDS.sub("", text)))
    found = []
    for match in _CANDIDATE.finditer(text):
        candidate = match.group().strip().translate(_SYMBOLS).replace("^", "**")
        found += [part for part in _values(candidate) if _OPERATOR.search(part)]
    return found[0] if len(found) == 1 else None


# results spell small numbers out ("two small moons"), which alpha2digit leaves as words
_SPELLED = {
    w: str(n)
    for n, w in enumerate(
        ("one", "two", "three", "four", "five", "six", "seven", "eight", "nine", "ten"), 1
    )
}
NUMBER = r"\d[\d,]*(?:\.\d+)?"  # as prose writes one: "1,250", "3.5"
_WORD = re.compile(r"[a-z]+")


def numbers_in(text: str) -> set[str]:
    """The numbers `text` states, as digits without grouping ("1,250" and "1250" are one),
    written in words too ("seven hundred and sixty-three" is 763). A date ("2027-03-22") is
    one value: its year alone is not a number the text states."""
    dates = set(_ISO_DATE.findall(text))
    text = alpha2digit(_ISO_DATE.sub(" ", text), "en")
    spelled = {_SPELLED[w] for w in _WORD.findall(text.lower()) if w in _SPELLED}
    return dates | spelled | digits_in(text)


def digits_in(text: str) -> set[str]:
    """The numbers `text` writes in digits, without grouping ("1,250" is 1250)."""
    return {n.replace(",", "") for n in re.findall(NUMBER, text)}


def known_numbers(request: str, scratchpad: Scratchpad) -> set[str]:
    """The numbers a run has seen: the request's and its results'."""
    return numbers_in(" ".join([request, *scratchpad.results()]))


def _values(candidate: str) -> list[str]:
    """The expressions a candidate holds: itself, or the parts of "2024, 3 + 4" (a comma
    outside a call separates values); none where it does not parse."""
    try:
        tree = ast.parse(candidate, mode="eval")
    except SyntaxError:
        return []
    if isinstance(tree.body, ast.Tuple):
        return [ast.get_source_segment(candidate, e) or "" for e in tree.body.elts]
    return [candidate]
