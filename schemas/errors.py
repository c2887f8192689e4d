"""The base of every error a user can cause: the CLI prints it as one line and exits non-zero.

Also the one place that turns a pydantic ValidationError into the words of such a line.
"""

from pydantic import ValidationError


class WaypointError(Exception):
    """An error caused by input (a file, a schema, a model name, a server): no traceback needed."""

    exit_code: int = 2


def validation_problem(
    error: ValidationError, whole: str = "value", *, skip: tuple[int, ...] = ()
) -> str:
    """`field.path: message` for the first problem in `error` (`whole` when it concerns the
    value as a whole); `skip` leaves out positions of the path that mean nothing to a reader
    (a union's tag). Validators' "Value error, " prefix is dropped."""
    problem = error.errors()[0]
    where = ".".join(str(p) for i, p in enumerate(problem["loc"]) if i not in skip) or whole
    return f"{where}: {problem['msg'].removeprefix('Value error, ')}"
