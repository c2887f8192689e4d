"""`waypoint pipeline`: every stage, for real, at tiny scale; resuming; bad settings."""

import json
import os
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest
from rich.console import Console

from waypoint.pipeline import STATE_FILE, Pipeline, PipelineConfig, PipelineError

WAYPOINT = str(Path(sys.executable).parent / "waypoint")
STAGES = ["requests", "trajectories", "judge", "package", "finetune", "merge", "export",
          "quantize", "adapter", "verify", "evaluate", "report"]  # fmt: skip
TINY = ["--train-requests", "6", "--eval-requests", "1", "--eval-runs", "1",
        "--set", "finetune.max_steps=1", "--set", "real_requests=1", "--set", "min_rating=3",
        "--set", "worked_examples=true", "--set", "verify_prompts=1"]  # fmt: skip


def waypoint(*args: str, home: Path) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "WAYPOINT_HOME": str(home)}
    return subprocess.run([WAYPOINT, *args], env=env, capture_output=True, text=True)


@pytest.fixture(scope="module")
def tiny_run(tmp_path_factory):
    root = tmp_path_factory.mktemp("pipeline")
    out, home = root / "run", root / "home"
    done = waypoint("pipeline", "--out", str(out), *TINY, home=home)
    assert done.returncode == 0, done.stderr[-3000:]
    return out, home, done


def test_every_stage_runs_and_the_report_is_written(tiny_run):
    out, _, done = tiny_run
    state = json.loads((out / STATE_FILE).read_text())
    assert list(state["stages"]) == STAGES
    assert state["stages"]["package"]["result"]["min_rating"] == 3  # the knob reached packaging
    report = (out / "report" / "pipeline.md").read_text()
    for section in ("## Targets", "## Quantized planners", "## Stage wall times",
                    "hand-written requests on the real tools"):  # fmt: skip
        assert section in report
    assert "| expert |" in report and "zero-shot:smollm2-135m" in report
    assert "fine-tuned:run-planner.lora" in report  # the shipped form was evaluated
    assert "planner.lora.gguf" in report  # ... and verified against the merged model
    assert (out / "report" / "metrics.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert "pipeline done" in done.stderr


def test_the_quantized_planners_are_registered_by_name(tiny_run):
    out, home, _ = tiny_run
    listed = waypoint("models", "list", home=home)
    assert listed.returncode == 0, listed.stderr
    for kind in ("f16", "q8_0", "q4_k_m", "lora"):
        assert f"run-planner.{kind}" in listed.stdout
    # ... and decode as the shipped planner does: what is evaluated is what chat runs
    registry = tomllib.loads((home / "models.toml").read_text())
    packaged = Path(__file__).parent.parent / "models" / "registry.toml"
    shipped = tomllib.loads(packaged.read_text())["waypoint-135m"]
    for kind in ("f16", "q8_0", "q4_k_m", "lora"):
        assert registry[f"run-planner.{kind}"]["decoder"] == shipped["decoder"]
        # ... with the worked examples it was trained with (`worked_examples`)
        examples = Path(registry[f"run-planner.{kind}"]["examples"])
        assert examples == (out / "sim" / "dataset" / "examples.jsonl").resolve()
        assert examples.read_text().count("\n") >= 1


def test_a_finished_pipeline_is_not_redone(tiny_run):
    out, home, _ = tiny_run
    before = (out / STATE_FILE).read_text()
    again = waypoint("pipeline", "--out", str(out), *TINY, home=home)
    assert again.returncode == 0, again.stderr
    assert again.stderr.count("done before") == len(STAGES)
    assert (out / STATE_FILE).read_text() == before


def test_other_settings_on_a_used_folder_are_refused(tiny_run):
    out, home, _ = tiny_run
    refused = waypoint("pipeline", "--out", str(out), *TINY[:-2], home=home)  # no verify_prompts
    assert refused.returncode == 2
    assert "other settings (verify_prompts)" in refused.stderr
    assert "Traceback" not in refused.stderr


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--set", "finetune.epocs=3"], "epocs"),
        (["--set", "eval_runs=0"], "eval_runs"),
        (["--set", "min_rating=6"], "min_rating"),
        (["--set", "eval_types=['Q5_K_M']"], "not in quant_types"),
        (["--set", "finetune.out='x'"], "sets out itself"),
        (["--set", "novalue"], "KEY=VALUE"),
        (["--config", "missing.toml"], "cannot read pipeline config"),
    ],
)
def test_bad_settings_get_one_clear_line(tmp_path, args, message):
    refused = waypoint("pipeline", "--out", str(tmp_path / "run"), *args, home=tmp_path)
    assert refused.returncode == 2
    assert message in refused.stderr and "Traceback" not in refused.stderr
    assert not (tmp_path / "run").exists()


class Scripted(Pipeline):
    """The real bookkeeping over stages that only record that they ran (and one that is
    interrupted on its first call)."""

    ran: list[str]

    def stages(self):
        def stage(name):
            def run():
                self.ran.append(name)
                if name == "finetune" and self.ran.count(name) == 1 and self.interrupt:
                    raise KeyboardInterrupt
                return {"stage": name}

            return run

        return [(name, stage(name)) for name in STAGES]


def test_ctrl_c_keeps_finished_stages_and_a_rerun_continues(tmp_path):
    config = PipelineConfig(train_requests=5)
    first = Scripted(config, tmp_path, Console(quiet=True))
    first.ran, first.interrupt = [], True
    with pytest.raises(PipelineError, match="interrupted in stage finetune") as raised:
        first.run()
    assert raised.value.exit_code == 130
    second = Scripted(config, tmp_path, Console(quiet=True))
    second.ran, second.interrupt = [], False
    state = second.run()
    assert second.ran == STAGES[STAGES.index("finetune") :]
    assert list(state.stages) == STAGES and state.stages["merge"].result == {"stage": "merge"}


def test_a_lora_setting_keeps_the_cpu_recipes_other_lora_settings(tmp_path):
    config = PipelineConfig(finetune={"lora": {"top_layers": 15}, "epochs": 2.0})
    settings = Pipeline(config, tmp_path, Console(quiet=True)).training_settings()
    assert settings["lora"] == {"dropout": 0.0, "top_layers": 15}
    assert (settings["epochs"], settings["learning_rate"]) == (2.0, 1e-3)


def test_the_shipped_7b_config_is_valid():
    from schemas.settings import load_settings

    path = Path(__file__).parent.parent / "waypoint" / "pipeline-7b.toml"
    config = load_settings(PipelineConfig, path, {}, "pipeline config")
    assert config.world == "llm" and config.teacher
    assert config.finetune["lora"]["target_modules"] == ["q_proj", "k_proj", "v_proj", "o_proj"]


def test_a_finished_pipeline_ships_its_planner(tiny_run, tmp_path):
    from schemas.settings import load_settings
    from waypoint.pipeline_ship import ShippedPlanner, dataset_fingerprint

    out, home, _ = tiny_run
    shipped = tmp_path / "planner"
    done = waypoint("pipeline", "--out", str(out), *TINY, "--ship", str(shipped), home=home)
    assert done.returncode == 0, done.stderr[-2000:]
    state = json.loads((out / STATE_FILE).read_text())
    assert (shipped / "adapter.gguf").read_bytes() == (
        out / "gguf" / "planner.lora.gguf"
    ).read_bytes()
    assert (shipped / "examples.jsonl").read_bytes() == (
        out / "sim" / "dataset" / "examples.jsonl"
    ).read_bytes()
    config = load_settings(PipelineConfig, shipped / "pipeline.toml", {}, "pipeline config")
    assert config.model_dump(mode="json") == state["config"]
    manifest = ShippedPlanner.model_validate_json((shipped / "manifest.json").read_text())
    assert manifest.dataset_sha256 == dataset_fingerprint(out / "sim" / "dataset")
    assert manifest.evaluation["planners"] == ["fine-tuned:run-planner.lora"]
    targets = {t.target: t for t in manifest.targets}  # the report's table, as measured
    assert "lora completion ≥ 0.95" in targets and "lora real-tool pass rate ≥ 0.7" in targets
    before_report = sum(r["seconds"] for k, r in state["stages"].items() if k != "report")
    assert targets["whole pipeline ≤ 30 min"].measured == pytest.approx(before_report / 60)
