"""Refusals of the compiler: what cannot be compiled, and where (a JSON pointer)."""

from typing import Any

from schemas.errors import WaypointError


class GrammarError(WaypointError):
    """The schema cannot be compiled: names what and where (a JSON pointer)."""

    def __init__(self, message: str, path: str = "#") -> None:
        super().__init__(f"{message} at {path}")
        self.path = path


class EmptySchema(GrammarError):
    """The schema admits no value at all (e.g. contradictory bounds)."""


def at(path: str, *parts: Any) -> str:
    """The JSON pointer `path` extended by `parts`."""
    for p in parts:
        path += "/" + str(p).replace("~", "~0").replace("/", "~1")
    return path


def nonneg_int(value: Any, path: str) -> int:
    """A count keyword's value (minItems, maxLength, …), or a refusal."""
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    if not isinstance(value, int) or isinstance(value, bool) or value < 0:
        raise GrammarError(f"expected a non-negative integer, got {value!r}", path)
    return value
