"""The chat survives whatever a tool, model or server does: one line, and the conversation
goes on (the chat loop over a stand-in agent whose requests fail in each way there is)."""

import io

from rich.console import Console

from models.chat_model import ModelError
from waypoint.commands.agent import _converse
from waypoint.logs import configure


class FailingAgent:
    """Fails its first requests as a server, a bug and a Ctrl-C would, then answers."""

    def __init__(self) -> None:
        from planner.agent import RunInterrupted
        from schemas.trajectory import Trajectory, TrajectoryMeta

        meta = TrajectoryMeta(planner="p")
        interrupted = RunInterrupted(Trajectory(request_id="r", request="x", meta=meta))
        self.failures = [ModelError("cannot reach http://127.0.0.1:9/v1"), KeyError("k"),
                         interrupted]  # fmt: skip
        self.answered: list[str] = []

    def chat(self, line: str) -> None:
        if self.failures:
            raise self.failures.pop(0)
        self.answered.append(line)


def test_the_chat_goes_on_after_any_error(tmp_path, monkeypatch):
    monkeypatch.setenv("WAYPOINT_HOME", str(tmp_path))
    configure()
    out = io.StringIO()
    console = Console(file=out, width=200, highlight=False)
    lines = iter(["one", "two", "three", "four", "/quit"])
    monkeypatch.setattr(console, "input", lambda prompt="": next(lines))
    agent = FailingAgent()
    _converse(agent, console)  # type: ignore[arg-type]
    shown = out.getvalue().splitlines()
    log = tmp_path / "logs" / "waypoint.log"
    assert shown == [
        "error: cannot reach http://127.0.0.1:9/v1",
        f"internal error: KeyError: 'k' (traceback in {log})",
        "interrupted: the finished steps are kept",
    ]
    assert agent.answered == ["four"]
    assert "Traceback" in log.read_text() and "KeyError: 'k'" in log.read_text()
