"""The 7B recipe, dry-run: `waypoint pipeline --config waypoint/pipeline-7b.toml` end to end
on its own code path (the llm world: a teacher behind an OpenAI-compatible server writes the
requests, plans, plays the tools and judges; QLoRA settings of the recipe; Q8_0 and Q4_K_M
evaluated beside a zero-shot baseline), at tiny scale, with the teacher, the judge and the
zero-shot baseline replaced by the bundled model on llama-cpp-python's server on 127.0.0.1
and the base by the bundled model. Slow (a whole pipeline), and opt-in: WAYPOINT_DRY_RUN_7B=1
runs it. Beside it, a quick test of the one stage that reads the llm world's own files (verify)."""

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from waypoint.pipeline import STATE_FILE

# A whole pipeline against a teacher on llama-cpp-python's server: 10-30 min on 2 cores, more
# than the test run's budget, so `make test` leaves it out; WAYPOINT_DRY_RUN_7B=1 runs it.
SLOW, TIMEOUT = pytest.mark.slow, pytest.mark.timeout(3600)
OPT_IN = pytest.mark.skipif(
    os.environ.get("WAYPOINT_DRY_RUN_7B") != "1",
    reason="the 7B recipe's dry run takes 10-30 min: set WAYPOINT_DRY_RUN_7B=1",
)

WAYPOINT = str(Path(sys.executable).parent / "waypoint")
RECIPE = Path(__file__).parent.parent / "waypoint" / "pipeline-7b.toml"
# Only the scale and the three models change; every other knob is the recipe's, but for
# max_length and min_rating: the 135M teacher rambles through all ten steps, and one such
# trajectory (one packed example) runs past the recipe's 1024 tokens; and as a judge it rates
# so few answers 4 or more that a split into training and validation requests can fail.
TINY = ["--teacher", "teacher", "--base", "smollm2-135m", "--train-requests", "5",
        "--eval-requests", "1", "--eval-runs", "1", "--set", "baseline_requests=1",
        "--set", "baseline_runs=1", "--set", 'zero_shot="teacher"', "--set", "real_requests=1",
        "--set", "verify_prompts=1", "--set", "eval_max_steps=2", "--set", "finetune.max_steps=1",
        "--set", "finetune.batch_size=1", "--set", "finetune.grad_accum=1",
        "--set", "finetune.max_length=4096", "--set", "min_rating=1"]  # fmt: skip


@pytest.fixture(scope="module")
def dry_run(llamacpp_server, tmp_path_factory):
    root = tmp_path_factory.mktemp("pipeline-7b")
    home, out = root / "home", root / "run"
    home.mkdir()
    (home / "models.toml").write_text(
        f'[teacher]\nbackend = "openai"\nbase_url = "{llamacpp_server}"\n'
        'model = "smollm2-135m"\ngrammar_mode = "gbnf"\n'
    )
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "WAYPOINT_HOME": str(home)}
    args = [WAYPOINT, "pipeline", "--config", str(RECIPE), "--out", str(out), *TINY]
    done = subprocess.run(args, env=env, capture_output=True, text=True)
    assert done.returncode == 0, done.stderr[-3000:]
    return out, done


@SLOW
@TIMEOUT
@OPT_IN
def test_every_stage_of_the_recipe_runs_with_a_teacher_behind_http(dry_run):
    out, done = dry_run
    state = json.loads((out / STATE_FILE).read_text())
    config = state["config"]
    assert config["world"] == "llm" and config["teacher"] == "teacher"
    assert config["finetune"]["lora"]["r"] == 16 and config["finetune"]["epochs"] == 3
    assert set(state["stages"]) >= {"requests", "trajectories", "judge", "package", "finetune",
                                    "merge", "export", "quantize", "verify", "evaluate",
                                    "report"}  # fmt: skip
    assert state["stages"]["requests"]["result"]["requests"] == 5
    assert state["stages"]["trajectories"]["result"]["faults"] == 0
    registered = state["stages"]["quantize"]["result"]["registered"]
    assert {"Q8_0", "Q4_K_M"} <= set(registered)
    assert "pipeline done" in done.stderr


@SLOW
@TIMEOUT
@OPT_IN
def test_the_teacher_judged_and_the_quantized_planners_were_evaluated(dry_run):
    out, _ = dry_run
    requests = [json.loads(line) for line in (out / "sim" / "requests.jsonl").open()]
    assert all(r["source"] == "teacher" for r in requests)
    ratings = [json.loads(line) for line in (out / "sim" / "ratings.jsonl").open()]
    assert ratings and all(r["judge"] == "llm:teacher" for r in ratings)
    report = (out / "report" / "pipeline.md").read_text()
    assert "zero-shot:teacher" in report
    for kind in ("q8_0", "q4_k_m"):
        assert f"fine-tuned:run-planner.{kind}" in report


def test_verify_checks_the_prompt_before_every_plan_of_the_validation_trajectories(tmp_path):
    """The llm world has no atlas prompts: verify reads them from validation.jsonl, where one
    example is a whole trajectory."""
    from quantize.validation import read_prompts
    from schemas.chat import Message
    from schemas.dataset import SFTExample

    def turns(*roles):
        return [Message(role=r, content=f"{r} {i}") for i, r in enumerate(roles)]

    two_plans = turns("system", "user", "assistant", "user", "assistant")
    one_plan = turns("system", "user", "assistant")
    examples = [SFTExample(request_id="a", messages=two_plans),
                SFTExample(request_id="b", messages=one_plan)]  # fmt: skip
    path = tmp_path / "validation.jsonl"
    path.write_text("".join(e.model_dump_json() + "\n" for e in examples))
    prompts = read_prompts(path)
    assert [len(p) for p in prompts] == [2, 4, 2]
    assert all(p[-1].role == "user" for p in prompts)
    assert read_prompts(path, 2) == prompts[:2]
