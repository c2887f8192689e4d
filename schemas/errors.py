"""The base of every error a user can cause: the CLI prints it as one line and exits non-zero."""


class WaypointError(Exception):
    """An error caused by input (a file, a schema, a model name, a server): no traceback needed."""

    exit_code: int = 2
