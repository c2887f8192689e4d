"""`waypoint eval` as a user runs it: real processes, one-line errors, Ctrl-C that keeps
finished work, and a rerun that completes it."""

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from conftest import interruptible

from evals.store import RATINGS, RunStore

WAYPOINT = str(Path(sys.executable).with_name("waypoint"))


def waypoint(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [WAYPOINT, "eval", *args], capture_output=True, text=True, timeout=300, check=False
    )


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["run", "-p", "gpt", "-r", "atlas:1:2"], "error: unknown planner 'gpt'; planners are"),
        (["run", "-p", "expert", "-r", "atlas:1"], "error: bad request set 'atlas:1'"),
        (["report", "/nonexistent/run"], "error: /nonexistent/run is not an evaluation run"),
    ],
)
def test_bad_input_is_one_line_and_a_non_zero_exit(args, message):
    result = waypoint(*args)
    assert result.returncode == 2
    assert result.stderr.startswith(message) and result.stderr.count("\n") <= 1, result.stderr


def test_user_requests_need_a_model_judge(tmp_path):
    requests = tmp_path / "mine.jsonl"
    requests.write_text('{"text": "What is 2 + 2?"}\n')
    result = waypoint("run", "-p", "random", "-r", str(requests), "-o", str(tmp_path / "run"))
    assert result.returncode == 2
    assert "these requests need a judge model" in result.stderr


REQUESTS = 3000


def test_ctrl_c_keeps_finished_runs_and_the_same_command_completes_them(tmp_path):
    out = tmp_path / "run"
    # 6,000 expert runs take ~7 s here: the signal lands mid-way, not after the end
    args = ["run", "-p", "expert", "-r", f"atlas:3:{REQUESTS}", "-n", "2", "-o", str(out)]
    process = subprocess.Popen(
        [WAYPOINT, "eval", *args], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        preexec_fn=interruptible,
    )  # fmt: skip
    records = out / RATINGS  # a rated run is a finished one
    while process.poll() is None and not (records.exists() and records.stat().st_size > 0):
        time.sleep(0.01)
    os.kill(process.pid, signal.SIGINT)
    _, stderr = process.communicate(timeout=120)
    assert process.returncode == 130, stderr
    last = stderr.strip().splitlines()[-1]
    assert last.startswith("error: interrupted: the finished records are kept in")
    assert "Traceback" not in stderr
    store = RunStore.open(out)
    ran, rated = len(store.trajectories()), len(store.ratings())
    assert 0 < rated <= ran < 2 * REQUESTS  # Ctrl-C may fall between a run and its rating

    result = waypoint(*args)
    assert result.returncode == 0, result.stderr
    total = 2 * REQUESTS
    new = f"{total - ran} runs, {total - rated} ratings new ({rated} already there"
    assert new in result.stderr
    assert f"| expert | 2 | {REQUESTS} | 1.00 ± 0.00 |" in result.stdout

    report = waypoint("report", str(out))
    assert report.returncode == 0 and f"| expert | 2 | {REQUESTS} |" in report.stdout
    assert (out / "report" / "metrics.png").stat().st_size > 0
    unknown = waypoint("compare", "expert", "random", "--run", str(out))
    assert unknown.returncode == 2 and "no planner 'random'" in unknown.stderr
