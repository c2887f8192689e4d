"""What goes wrong in an evaluation because of its input, as one line for the CLI."""

from schemas.errors import WaypointError


class EvalError(WaypointError):
    """A bad planner spec, request set, judge or run folder."""


class EvalInterrupted(EvalError):
    """Ctrl-C: the finished records stay in the run folder; the same command continues."""

    exit_code = 130
