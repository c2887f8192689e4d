"""Logging: a long job's log in its run folder, an internal error as one line naming the log
that holds its traceback, and the terminal as loud as asked."""

import logging
import os
import subprocess
import sys
from pathlib import Path

import pytest

from waypoint.logs import LOG_FILE, configure, log_path, run_log

WAYPOINT = str(Path(sys.executable).parent / "waypoint")
BROKEN = """
from pydantic import BaseModel

class Thing(BaseModel):
    @classmethod
    def model_json_schema(cls, *args, **kwargs):
        raise RuntimeError("boom in the schema")
"""


def test_a_run_folder_keeps_the_log_and_the_traceback(tmp_path, monkeypatch):
    monkeypatch.setenv("WAYPOINT_HOME", str(tmp_path / "home"))
    configure()
    with pytest.raises(RuntimeError), run_log(tmp_path / "run") as path:
        logging.getLogger("finetune.train").info("step 1 of 2")
        assert log_path() == path
        raise RuntimeError("a bug")
    text = path.read_text()
    assert path == tmp_path / "run" / LOG_FILE
    assert "INFO finetune.train: step 1 of 2" in text
    assert "Traceback" in text and "RuntimeError: a bug" in text
    assert log_path() == tmp_path / "home" / "logs" / LOG_FILE  # the home log's again


def test_an_internal_error_is_one_line_and_its_traceback_is_in_the_log(tmp_path):
    (tmp_path / "broken_schema.py").write_text(BROKEN)
    env = {**os.environ, "WAYPOINT_HOME": str(tmp_path / "home"), "PYTHONPATH": str(tmp_path)}
    done = subprocess.run(
        [WAYPOINT, "grammar", "compile", "broken_schema:Thing"],
        env=env, capture_output=True, text=True, cwd=tmp_path,
    )  # fmt: skip
    log = tmp_path / "home" / "logs" / LOG_FILE
    assert done.returncode == 1
    assert done.stderr.strip() == (
        f"internal error: RuntimeError: boom in the schema (traceback in {log})"
    )
    assert "Traceback" in log.read_text() and "boom in the schema" in log.read_text()


def test_verbose_shows_debug_records_on_the_terminal(tmp_path):
    env = {**os.environ, "WAYPOINT_HOME": str(tmp_path)}
    quiet = subprocess.run([WAYPOINT, "models", "list"], env=env, capture_output=True, text=True)
    env["WAYPOINT_LOG"] = "debug"
    loud = subprocess.run([WAYPOINT, "models", "list"], env=env, capture_output=True, text=True)
    flag = subprocess.run(
        [WAYPOINT, "--verbose", "models", "list"], env={**env, "WAYPOINT_LOG": "error"},
        capture_output=True, text=True,
    )  # fmt: skip
    assert quiet.returncode == loud.returncode == flag.returncode == 0
    assert "debug " not in quiet.stderr
    assert "debug waypoint.logs: command" in loud.stderr
    assert "debug waypoint.logs: command" in flag.stderr
