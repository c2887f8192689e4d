"""Logging for the `waypoint` command: where records go and how loud the terminal is.

- every record of ours at DEBUG, and other libraries' at INFO, go to a log file: the run
  folder's `waypoint.log` while a long job runs there (`run_log`), else
  `$WAYPOINT_HOME/logs/waypoint.log` (opened only when something is written);
- the terminal (stderr) shows our warnings and errors; `--verbose` or `WAYPOINT_LOG=debug`
  (or info, warning, error) shows more;
- an internal error (a bug, not bad input) prints one line naming the log file, and the
  traceback goes to the log.

Library code only calls `logging.getLogger(__name__)`; nothing below waypoint/ configures.
"""

import logging
import os
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

# the top-level packages of this project: their loggers are "ours"
PACKAGES = ("schemas", "models", "planner", "tools", "finetune", "quantize", "evals", "waypoint")
LOG_FILE = "waypoint.log"
LEVELS = {"debug": logging.DEBUG, "info": logging.INFO, "warning": logging.WARNING,
          "error": logging.ERROR}  # fmt: skip
FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"

log = logging.getLogger(__name__)


class _LazyFile(logging.Handler):
    """A file handler that creates its file on the first record (a command that logs
    nothing leaves nothing behind). Without a path it is the home log, whose place is
    looked up only then."""

    def __init__(self, path: Path | None = None) -> None:
        super().__init__(logging.DEBUG)
        self._path = path
        self._file: logging.FileHandler | None = None
        self.addFilter(lambda record: _files[-1] is self)  # only the innermost log writes

    @property
    def path(self) -> Path:
        if self._path is None:
            from models.registry import waypoint_home  # not light: only when needed

            self._path = waypoint_home() / "logs" / LOG_FILE
        return self._path

    def emit(self, record: logging.LogRecord) -> None:
        if self._file is None:
            try:
                self.path.parent.mkdir(parents=True, exist_ok=True)
                self._file = logging.FileHandler(self.path, encoding="utf-8")
            except OSError:  # no log here (a run folder that is a file): the next one takes it
                if len(_files) > 1:
                    _files.remove(self)
                    _files[-1].handle(record)
                return
            self._file.setFormatter(logging.Formatter(FORMAT))
        self._file.emit(record)

    def close(self) -> None:
        if self._file is not None:
            self._file.close()
        super().close()


_files: list[_LazyFile] = [_LazyFile()]  # the home log, then run logs; the last one writes


class _TerminalFormat(logging.Formatter):
    """`warning: message`; at DEBUG also the logger's name and any traceback, which
    otherwise stay in the log file."""

    def format(self, record: logging.LogRecord) -> str:
        message = record.getMessage()
        if _terminal.level > logging.DEBUG:
            return f"{record.levelname.lower()}: {message}"
        text = f"{record.levelname.lower()} {record.name}: {message}"
        return f"{text}\n{self.formatException(record.exc_info)}" if record.exc_info else text


_terminal = logging.StreamHandler(sys.stderr)
_terminal.setFormatter(_TerminalFormat())
# other libraries' chatter stays in the file unless it is an error; an error the CLI reports
# in its own line is logged for the file only
_terminal.addFilter(
    lambda r: (
        not getattr(r, "file_only", False)
        and (r.name.split(".")[0] in PACKAGES or r.levelno >= logging.ERROR)
    )
)


def terminal_level(verbose: bool) -> int:
    """DEBUG with --verbose, else WAYPOINT_LOG's level (WARNING when unset)."""
    if verbose:
        return logging.DEBUG
    name = os.environ.get("WAYPOINT_LOG", "warning").strip().lower()
    if name not in LEVELS:
        from schemas.errors import WaypointError

        raise WaypointError(f"WAYPOINT_LOG must be one of {', '.join(LEVELS)}, not {name!r}")
    return LEVELS[name]


def configure(verbose: bool = False) -> None:
    """The terminal at its level and the home log file (looked up again: WAYPOINT_HOME may
    have changed); calling it again sets the level."""
    root = logging.getLogger()
    _terminal.setLevel(terminal_level(verbose))
    root.removeHandler(_files[0])
    _files[0].close()
    _files[0] = _LazyFile()
    for handler in (_terminal, _files[0]):
        if handler not in root.handlers:
            root.addHandler(handler)
    root.setLevel(logging.INFO)
    for package in PACKAGES:
        logging.getLogger(package).setLevel(logging.DEBUG)


def log_path() -> Path:
    """The file that records go to now."""
    return _files[-1].path


@contextmanager
def run_log(folder: Path) -> Iterator[Path]:
    """While the block runs, records go to FOLDER/waypoint.log (appended: a resumed run
    keeps one log)."""
    handler = _LazyFile(folder / LOG_FILE)
    _files.append(handler)
    logging.getLogger().addHandler(handler)
    log.info("command: %s", " ".join(sys.argv))
    try:
        yield handler.path
    except Exception as e:
        logged_to(e, handler.path)
        raise
    finally:
        logging.getLogger().removeHandler(handler)
        if handler in _files:  # it may have stepped aside already (see _LazyFile.emit)
            _files.remove(handler)
        handler.close()


def logged_to(error: BaseException, path: Path | None = None) -> Path:
    """Log `error` with its traceback (once: the innermost log that sees it keeps it) and
    say in which file; a user's error is logged at INFO, anything else at ERROR."""
    from schemas.errors import WaypointError

    if (kept := getattr(error, "_waypoint_log", None)) is not None:
        return kept
    user_error = isinstance(error, WaypointError)
    level = logging.INFO if user_error else logging.ERROR
    log.log(level, "%s: %s", type(error).__name__, error, exc_info=error, extra={"file_only": True})
    error._waypoint_log = path or log_path()  # type: ignore[attr-defined]
    return error._waypoint_log  # type: ignore[attr-defined]


def error_line(error: BaseException) -> str:
    """The one line a user sees: a user's error as its message, anything else named with
    the log file that holds its traceback."""
    from schemas.errors import WaypointError

    path = logged_to(error)
    if isinstance(error, WaypointError):
        return f"error: {error}"
    first = (str(error).strip().splitlines() or [""])[0]
    return f"internal error: {type(error).__name__}: {first} (traceback in {path})"
