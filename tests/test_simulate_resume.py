"""Trajectory generation survives interruption: a rerun neither repeats nor misses a request."""

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from conftest import SignalsWhenFreed, interruptible

from finetune.resumable import run_resumable
from finetune.simulation import REQUESTS, TRAJECTORIES, make_agent
from finetune.trajectories import generate_trajectories
from planner.agent import Agent
from schemas.errors import WaypointError
from schemas.records import Appender, RecordError, read_records
from schemas.request import Request
from schemas.trajectory import Trajectory
from tools.atlas.requests import atlas_requests
from tools.atlas.world import build_world


class Exploding:
    """A planner that raises (like a crash) once `budget` requests have started."""

    def __init__(self, planner, budget: int) -> None:
        self.planner, self.budget, self.started = planner, budget, set()
        self.name, self.model_name, self.tool_names = "expert", None, planner.tool_names

    def plan(self, request, scratchpad, history=(), only=None):
        self.started.add(request)
        if len(self.started) > self.budget:
            raise RuntimeError("injected crash")
        return self.planner.plan(request, scratchpad, history, only=only)


def ids_in(path: Path) -> list[str]:
    return [t.request_id for t in read_records(path, Trajectory)]


@pytest.mark.parametrize("workers", [1, 3])
def test_rerun_after_a_crash_completes_without_duplicates(tmp_path, workers):
    requests = atlas_requests(build_world(21), 40)
    agent, meta = make_agent("atlas", requests)
    out = tmp_path / "trajectories.jsonl"
    crashing = Agent(Exploding(agent.planner, budget=12), list(agent.tools.values()))
    with pytest.raises(RuntimeError, match="injected"):
        generate_trajectories(requests, crashing, out, meta, workers=workers, show_progress=False)
    written = ids_in(out)
    assert 0 < len(written) <= 12
    summary = generate_trajectories(
        requests, agent, out, meta, workers=workers, show_progress=False
    )
    assert summary.skipped == len(written)
    assert summary.written == len(requests) - len(written)
    final = ids_in(out)
    assert sorted(final) == sorted(r.id for r in requests)  # none missing, none twice


# Enough requests that the signal lands mid-run, with room for a loaded machine: 25,000
# trajectories take ~10 s on a fast CPU (15,000 once finished before the signal under
# `make test`, exit 0).
COUNT = 25_000


@pytest.mark.parametrize(("sig", "returncode"), [(signal.SIGKILL, -9), (signal.SIGINT, 130)])
def test_an_interrupted_run_loses_nothing_written(tmp_path, sig, returncode):
    """A real `waypoint simulate trajectories` killed (or Ctrl-C'd) mid-run, then run again."""
    world = tmp_path / "sim"
    env = {**os.environ, "HF_HUB_OFFLINE": "1"}
    cli = [str(Path(sys.executable).parent / "waypoint"), "simulate"]
    make = [*cli, "requests", "--seed", "22", "--count", str(COUNT), "--out", str(world)]
    subprocess.run(make, check=True, env=env, capture_output=True)
    command = [*cli, "trajectories", "--out", str(world)]
    process = subprocess.Popen(
        command, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
        preexec_fn=interruptible,
    )  # fmt: skip
    out = world / TRAJECTORIES
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline and process.poll() is None:
        if out.exists() and out.read_bytes().count(b"\n") >= 50:
            break
        time.sleep(0.02)
    finished_first = process.poll() is not None
    process.send_signal(sig)
    _, stderr = process.communicate(timeout=60)
    written = out.read_bytes().count(b"\n") if out.exists() else 0
    assert process.returncode == returncode, (
        f"exit {process.returncode}, {written} of {COUNT} written, "
        f"finished before the signal: {finished_first}; stderr: {stderr[-800:]!r}"
    )
    if sig == signal.SIGINT:
        assert b"run the same command again to continue" in stderr
    before = ids_in(out)
    assert 50 <= len(before) < COUNT, "the run was not killed mid-way"
    with out.open("ab") as f:  # a write cut short by the kill: half a record, no newline
        f.write(b'{"request_id": "atlas-22-train-0')
    subprocess.run(command, check=True, env=env, capture_output=True)
    after = ids_in(out)
    requests = read_records(world / REQUESTS, Request)
    assert sorted(after) == sorted(r.id for r in requests)
    assert after[: len(before)] == before  # the earlier records are untouched
    assert all(json.loads(line) for line in out.read_text().splitlines())


def test_a_torn_last_line_is_skipped_and_cut_before_the_next_append(tmp_path):
    path = tmp_path / "records.jsonl"
    path.write_text('{"id": "a", "text": "one"}\n{"id": "b", "te')
    assert [r.id for r in read_records(path, Request)] == ["a"]
    with Appender(path) as appender:
        appender.append(Request(id="c", text="three"))
    assert [r.id for r in read_records(path, Request)] == ["a", "c"]


def test_a_bad_complete_line_is_an_error_with_its_line_number(tmp_path):
    path = tmp_path / "records.jsonl"
    path.write_text('{"id": "a", "text": "one"}\n{"id": "b"}\n')
    with pytest.raises(RecordError, match=r"records.jsonl:2: text"):
        read_records(path, Request)


def test_item_failures_are_counted_and_left_for_the_next_run(tmp_path):
    items = [Request(id=str(i), text=f"request {i}") for i in range(6)]

    def work(item: Request) -> Request:
        if int(item.id) % 2:
            raise WaypointError(f"cannot do {item.id}")
        return item

    out = tmp_path / "out.jsonl"
    summary = run_resumable(
        items, lambda r: r.id, work, out, Request, lambda r: r.id, show_progress=False
    )
    assert (summary.written, summary.failed) == (3, 3)
    assert summary.problems[0] == "cannot do 1"
    again = run_resumable(
        items, lambda r: r.id, lambda r: r, out, Request, lambda r: r.id, show_progress=False
    )
    assert (again.skipped, again.written) == (3, 3)


def test_a_ctrl_c_swallowed_by_a_finalizer_still_stops_the_run(tmp_path, monkeypatch):
    items = [Request(id=str(i), text=f"request {i}") for i in range(8)]

    def work(item: Request) -> Request:
        if item.id == "2":
            SignalsWhenFreed()  # freed at once: the signal lands inside its __del__
        return item

    out = tmp_path / "out.jsonl"
    before = signal.getsignal(signal.SIGINT)  # ignored when the tests run in the background
    reported: list[object] = []  # what Python would print as "Exception ignored in __del__"
    monkeypatch.setattr(sys, "unraisablehook", reported.append)
    with pytest.raises(WaypointError, match="interrupted: 3 of 8"):
        run_resumable(items, lambda r: r.id, work, out, Request, lambda r: r.id)
    assert [r.id for r in read_records(out, Request)] == ["0", "1", "2"]
    assert signal.getsignal(signal.SIGINT) is before
    assert reported == [] and sys.unraisablehook == reported.append
