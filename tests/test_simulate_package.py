"""The SFT dataset: one conversation per kept trajectory, whole requests per split; and
the CLI."""

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from finetune.package import package_dataset
from finetune.simulation import DATASET
from planner.prompts import fine_tuned_messages, plan_text
from schemas.dataset import SFTExample
from schemas.errors import WaypointError
from schemas.plan import plan_model
from schemas.rating import Rating
from schemas.records import read_records
from schemas.trajectory import Scratchpad
from tools.atlas.tools import ATLAS_TOOL_NAMES


@pytest.fixture(scope="module")
def simulated(atlas_simulated):
    _, trajectories, ratings = atlas_simulated
    return trajectories, ratings


def test_examples_are_the_kept_trajectories(simulated):
    trajectories, ratings = simulated
    # a judge that disliked every third answer: those trajectories must not be trained on
    ratings = {
        rid: r.model_copy(update={"answer": Rating(explanation="bad", score=2)})
        if i % 3 == 0
        else r
        for i, (rid, r) in enumerate(ratings.items())
    }
    dataset = package_dataset(trajectories, ratings, ATLAS_TOOL_NAMES, val_fraction=0.2, seed=1)
    kept = [t for t in trajectories if ratings[t.request_id].answer.score >= 4]
    assert len(kept) == len(trajectories) - len(range(0, len(trajectories), 3))
    examples = dataset.train + dataset.validation
    assert len(examples) == len(kept) and dataset.stats.steps == sum(len(t.steps) for t in kept)
    assert {e.request_id for e in examples} == {t.request_id for t in kept}
    train_ids = {e.request_id for e in dataset.train}
    validation_ids = {e.request_id for e in dataset.validation}
    assert train_ids.isdisjoint(validation_ids)
    assert dataset.stats.validation_requests == round(0.2 * len(kept))
    assert sum(dataset.stats.tools.values()) == dataset.stats.steps
    assert dataset.stats.answer_ratings == {2: len(trajectories) - len(kept), 5: len(kept)}


def test_an_example_holds_each_step_s_prompt_and_canonical_plan(simulated):
    """Before every plan stands exactly the prompt the planner sees at that step."""
    trajectories, ratings = simulated
    dataset = package_dataset(trajectories, ratings, ATLAS_TOOL_NAMES, val_fraction=0)
    by_id = {t.request_id: t for t in trajectories}
    plan_class = plan_model(ATLAS_TOOL_NAMES)
    assert any(by_id[e.request_id].history for e in dataset.train)  # follow-ups among them
    for example in dataset.train[:60]:
        trajectory = by_id[example.request_id]
        prompts = example.prompts()
        assert len(prompts) == len(trajectory.steps)
        for number, (prompt, step) in enumerate(zip(prompts, trajectory.steps, strict=True)):
            before = Scratchpad(steps=trajectory.steps[:number])
            assert prompt == fine_tuned_messages(trajectory.request, before, trajectory.history)
            plan = example.messages[len(prompt)]
            assert plan.role == "assistant" and plan.content == plan_text(step.plan)
            assert plan.content == plan_class(**step.plan.model_dump()).model_dump_json()


def test_nothing_to_keep_is_one_clear_error(simulated):
    trajectories, ratings = simulated
    with pytest.raises(WaypointError, match="nothing to train on"):
        package_dataset(trajectories, ratings, ATLAS_TOOL_NAMES, min_rating=6)


WAYPOINT = str(Path(sys.executable).parent / "waypoint")


def simulate(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [WAYPOINT, "simulate", *args],
        capture_output=True,
        text=True,
        env={**os.environ, "HF_HUB_OFFLINE": "1"},
    )


def test_the_cli_builds_an_atlas_dataset(tmp_path):
    out = str(tmp_path / "sim")
    for command in (
        ["requests", "--seed", "32", "--count", "60", "--out", out],
        ["trajectories", "--out", out],
        ["judge", "--out", out],
        ["package", "--out", out, "--val-fraction", "0.25"],
    ):
        done = simulate(*command)
        assert done.returncode == 0, done.stderr
    train = read_records(tmp_path / "sim" / DATASET / "train.jsonl", SFTExample)
    validation = read_records(tmp_path / "sim" / DATASET / "validation.jsonl", SFTExample)
    stats = json.loads((tmp_path / "sim" / DATASET / "stats.json").read_text())
    assert stats["kept"] == 60
    assert len(train) + len(validation) == stats["kept"]
    assert sum(len(e.prompts()) for e in train + validation) == stats["steps"]
    assert {e.request_id for e in train}.isdisjoint({e.request_id for e in validation})
    assert "plans (steps)" in done.stdout


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["requests", "--world", "mars"], "--world must be atlas or llm"),
        (["requests", "--seed", "-1"], "seed is a whole number in 0..99999"),
        (["trajectories", "--out", "/nonexistent/sim"], "no requests in"),
        (["trajectories", "--world", "llm", "--out", "/nonexistent/sim"], "no requests in"),
    ],
)
def test_bad_input_is_one_clear_line(args, message):
    done = simulate(*args)
    assert done.returncode == 2
    assert message in done.stderr
    assert "Traceback" not in done.stderr
