"""Ctrl-C that is never lost: a SIGINT handler that remembers the signal as well as acting on
it, so that a long job can ask at a safe point whether one came.

Python delivers SIGINT as a KeyboardInterrupt in whatever code runs at that moment. When that
is a finalizer (a `__del__`, say simpleeval's, run as the calculator's evaluator is freed),
Python prints "Exception ignored" and goes on: the interrupt is gone, and a run the user
stopped finishes with exit 0. `SigintWatch.requested` keeps it, and while the watch is open
such a swallowed KeyboardInterrupt is not printed either (a traceback in the middle of a clean
"interrupted" message reads as a crash).
"""

import signal
import sys
import threading
from collections.abc import Callable
from types import FrameType
from typing import Any


class SigintWatch:
    """A context that handles SIGINT while it is open (main thread only: elsewhere a handler
    cannot be set, and Ctrl-C does not reach the thread anyway). `raise_now`: raise
    KeyboardInterrupt at once, as Python does, besides remembering it; else only remember,
    and leave the next Ctrl-C to Python's default (a second one aborts)."""

    def __init__(self, *, raise_now: bool = True) -> None:
        self.requested = False
        self.raise_now = raise_now
        self._installed = False
        self._previous: object = signal.default_int_handler
        self._previous_hook: Callable[[Any], object] = sys.unraisablehook

    def __enter__(self) -> "SigintWatch":
        if threading.current_thread() is threading.main_thread():
            previous = signal.signal(signal.SIGINT, self._on_sigint)
            # None: the handler was not set from Python; restoring the default is closest.
            self._previous = signal.SIG_DFL if previous is None else previous
            self._previous_hook, sys.unraisablehook = sys.unraisablehook, self._on_unraisable
            self._installed = True
        return self

    def __exit__(self, *exc: object) -> None:
        if self._installed:
            signal.signal(signal.SIGINT, self._previous)
            sys.unraisablehook = self._previous_hook
            self._installed = False

    def check(self) -> None:
        """Raise KeyboardInterrupt if a Ctrl-C came (even one that was swallowed)."""
        if self.requested:
            raise KeyboardInterrupt

    def _on_sigint(self, signum: int, frame: FrameType | None) -> None:
        self.requested = True
        if self.raise_now:
            raise KeyboardInterrupt
        signal.signal(signal.SIGINT, signal.default_int_handler)

    def _on_unraisable(self, unraisable: Any) -> None:
        # Our own KeyboardInterrupt, lost in a finalizer: `requested` holds it; anything else
        # is reported as Python would.
        if self.requested and issubclass(unraisable.exc_type, KeyboardInterrupt):
            return
        self._previous_hook(unraisable)
