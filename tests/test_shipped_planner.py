"""The planner that ships in models/planners/waypoint-135m: the registry's default resolves to
it, its files are what the manifest says, the dataset it learned from reproduces from its
config, and it answers real requests end to end through the real tools, as a user runs it."""

import hashlib
import json
import os
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest

from models.bundled import SHIPPED_PLANNER
from models.registry import entry_for
from waypoint.config import ChatSettings
from waypoint.pipeline_ship import ADAPTER, CONFIG, MANIFEST, ShippedPlanner, dataset_fingerprint

FOLDER = Path(__file__).parent.parent / "models" / "planners" / SHIPPED_PLANNER


def manifest() -> ShippedPlanner:
    return ShippedPlanner.model_validate_json((FOLDER / MANIFEST).read_text())


def test_chat_and_ask_default_to_the_shipped_planner(monkeypatch, tmp_path):
    monkeypatch.setenv("WAYPOINT_HOME", str(tmp_path))  # no user config file
    monkeypatch.delenv("WAYPOINT_CONFIG", raising=False)
    assert ChatSettings().model == SHIPPED_PLANNER
    entry = entry_for(SHIPPED_PLANNER)
    assert entry.planner == "fine-tuned"
    assert entry.lora is not None and entry.lora.resolve() == (FOLDER / ADAPTER).resolve()


def test_the_adapter_is_the_one_the_manifest_names():
    shipped = manifest()
    adapter = (FOLDER / ADAPTER).read_bytes()
    assert hashlib.sha256(adapter).hexdigest() == shipped.adapter_sha256
    assert len(adapter) == shipped.adapter_bytes
    config = tomllib.loads((FOLDER / CONFIG).read_text())
    assert config["base"] == shipped.base


def test_the_shipped_config_reproduces_the_dataset(tmp_path):
    """The simulation stages of the shipped pipeline.toml, run again: the same SFT files."""
    from finetune.simulation import (
        DATASET,
        simulate_judge,
        simulate_package,
        simulate_requests,
        simulate_trajectories,
    )

    config = tomllib.loads((FOLDER / CONFIG).read_text())
    assert config["world"] == "atlas"
    simulate_requests("atlas", tmp_path, config["train_requests"], seed=config["train_seed"])
    simulate_trajectories("atlas", tmp_path, show_progress=False)
    simulate_judge("atlas", tmp_path, show_progress=False)
    simulate_package("atlas", tmp_path)
    assert dataset_fingerprint(tmp_path / DATASET) == manifest().dataset_sha256


@pytest.mark.parametrize(
    ("request_text", "answer"),
    [("What is 17 * 23?", "391"), ("How high is Mount Everest?", "8,849")],
)
def test_the_shipped_planner_answers_a_first_question(request_text, answer, tmp_path):
    """`waypoint ask` as a user runs it: the default model, the real tools, offline."""
    env = os.environ | {"HF_HUB_OFFLINE": "1", "WAYPOINT_HOME": str(tmp_path)}
    env.pop("WAYPOINT_CONFIG", None)
    done = subprocess.run(
        [str(Path(sys.executable).with_name("waypoint")), "ask", request_text, "--json"],
        capture_output=True,
        text=True,
        env=env,
        timeout=600,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    trajectory = json.loads(done.stdout)
    assert trajectory["status"] == "answered"
    assert answer in trajectory["answer"]
    assert len(trajectory["steps"]) <= 3
