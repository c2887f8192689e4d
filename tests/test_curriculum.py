"""A curriculum (seed 002, SMART: short trajectories first, then long ones; seed 000: then
preference) from one config through `waypoint finetune curriculum`, for real at tiny scale
on the bundled model: each stage trains on the adapter of the one before, and a rerun
skips the finished stages and resumes an unfinished one from its checkpoint."""

import itertools
import json
import subprocess
import sys

import pytest
import torch
from test_self_aware import scripted_explorations

from finetune.curriculum import CurriculumStage, load_curriculum
from finetune.explore import EXPLORATIONS
from finetune.sft_data import read_examples
from planner.prompts import fine_tuned_messages, plan_text
from schemas.chat import assistant
from schemas.dataset import SFTExample
from schemas.records import write_records
from schemas.settings import SettingsError
from schemas.trajectory import Scratchpad, Step
from tools.atlas.requests import AtlasRequest, atlas_requests
from tools.atlas.tools import atlas_tools
from tools.atlas.world import build_world


def gold_example(request: AtlasRequest) -> SFTExample:
    """The expert's conversation of `request`, each result the fact its step learned."""
    *work, answer = request.plans()
    steps = [
        Step(plan=p, observation=g.learned)
        for p, g in zip(work, request.solution[:-1], strict=True)
    ]
    messages = fine_tuned_messages(request.text, Scratchpad(steps=steps), request.history)
    return SFTExample(request_id=request.id, messages=[*messages, assistant(plan_text(answer))])


def plans(example: SFTExample) -> int:
    return sum(m.role == "assistant" for m in example.messages)


def test_stages_are_checked_before_any_training(tmp_path):
    with pytest.raises(ValueError, match="letters, digits"):
        CurriculumStage(name="../up")
    with pytest.raises(ValueError, match="plan counts select sft examples only"):
        CurriculumStage(name="rpo", kind="preference", max_plans=2)
    config = tmp_path / "c.toml"
    config.write_text('out = "x"\n[[stages]]\nname = "a"\n[[stages]]\nname = "a"\n')
    with pytest.raises(SettingsError, match="stage names repeat"):
        load_curriculum(config, {})
    stage = CurriculumStage(name="short", max_plans=2)
    lookups = [gold_example(r) for r in atlas_requests(build_world(1), 2, shapes=("lookup",))]
    multihop = gold_example(atlas_requests(build_world(1), 1, shapes=("multihop",))[0])
    assert [stage.keeps(e) for e in [*lookups, multihop]] == [True, True, False]


def cli(*args: str) -> subprocess.CompletedProcess:
    code = "from waypoint.cli import main; main()"
    env_threads = "import torch; torch.set_num_threads(1); "  # two spin-wait on 2 shared cores
    return subprocess.run(
        [sys.executable, "-c", env_threads + code, *args], capture_output=True, text=True
    )


@pytest.fixture(scope="module")
def curriculum(tmp_path_factory):
    """short (≤ 2 plans) → long (≥ 3 plans) → rpo (preference), one step each."""
    root = tmp_path_factory.mktemp("curriculum")
    world = build_world(1)
    requests = [
        *atlas_requests(world, 2, shapes=("lookup",)),
        *atlas_requests(world, 2, shapes=("multihop",)),
    ]
    write_records(root / "train.jsonl", [gold_example(r) for r in requests])
    write_records(root / "val.jsonl", [gold_example(r) for r in atlas_requests(build_world(2), 1)])
    lookups = atlas_requests(world, 2, shapes=("lookup",))
    scripted_explorations(lookups, atlas_tools(world), root / EXPLORATIONS)
    run = (
        'precision = "fp32"\nmax_steps = 1\nbatch_size = 2\ngrad_accum = 1\n'
        "save_steps = 1\nlogging_steps = 1\nlearning_rate = 1e-3\n"
        'lr_scheduler = "constant"\nwarmup_ratio = 0.0\n'
    )
    config = root / "curriculum.toml"
    config.write_text(
        f'out = "{root / "out"}"\n'
        f'[sft]\ndataset = "{root / "train.jsonl"}"\neval_dataset = "{root / "val.jsonl"}"\n'
        f"max_length = 512\n{run}lora = {{ r = 4, alpha = 8, dropout = 0.0 }}\n"
        f'[preference]\npairs = "{root}"\nmax_length = 320\n{run}'
        '[[stages]]\nname = "short"\nmax_plans = 2\n'
        '[[stages]]\nname = "long"\nmin_plans = 3\n'
        '[[stages]]\nname = "rpo"\nkind = "preference"\n'
    )
    proc = cli("finetune", "curriculum", str(config))
    assert proc.returncode == 0, proc.stderr[-3000:]
    return config, root / "out"


def state(out):
    return json.loads((out / "curriculum.json").read_text())


def lora_weights(adapter):
    from safetensors.torch import load_file

    return load_file(adapter / "adapter_model.safetensors")


@pytest.mark.slow
def test_each_stage_trains_its_share_on_the_adapter_before(curriculum):
    _, out = curriculum
    finished = state(out)["finished"]
    assert [s["name"] for s in finished] == ["short", "long", "rpo"]
    assert [plans(e) for e in read_examples(out / "1-short" / "train.jsonl")] == [2, 2]
    assert [plans(e) for e in read_examples(out / "2-long" / "train.jsonl")] == [3, 3]
    settings = [json.loads((out / f / "adapter" / "finetune.json").read_text()) for f in
                ("1-short", "2-long", "3-rpo")]  # fmt: skip
    assert settings[0]["adapter"] is None
    assert settings[1]["adapter"] == str(out / "1-short" / "adapter")
    assert settings[2]["adapter"] == str(out / "2-long" / "adapter")
    assert finished[2]["result"]["pairs"] == 2 and finished[2]["result"]["steps"] == 1
    weights = [lora_weights(out / f / "adapter") for f in ("1-short", "2-long", "3-rpo")]
    for before, after in itertools.pairwise(weights):
        assert before.keys() == after.keys()  # the same adapter, trained on
        assert any(not torch.equal(before[k], after[k]) for k in before)


@pytest.mark.slow
def test_a_rerun_skips_finished_stages_and_resumes_the_unfinished_one(curriculum):
    config, out = curriculum
    proc = cli("finetune", "curriculum", str(config))
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert proc.stderr.count("(done before)") == 3
    # stage 3 cut short after its checkpoint: no adapter, no result, no record
    record = state(out)
    record["finished"].pop()
    (out / "curriculum.json").write_text(json.dumps(record))
    (out / "3-rpo" / "result.json").unlink()
    trained = lora_weights(out / "3-rpo" / "adapter")
    for file in (out / "3-rpo" / "adapter").iterdir():
        file.unlink()
    (out / "3-rpo" / "adapter").rmdir()
    proc = cli("finetune", "curriculum", str(config))
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert proc.stderr.count("(done before)") == 2
    assert [s["name"] for s in state(out)["finished"]] == ["short", "long", "rpo"]
    resumed = lora_weights(out / "3-rpo" / "adapter")
    assert all(torch.equal(trained[k], resumed[k]) for k in trained)  # from checkpoint-1


@pytest.mark.slow
def test_another_config_in_the_same_folder_is_refused(curriculum, tmp_path):
    config, _ = curriculum
    changed = tmp_path / "changed.toml"
    changed.write_text(config.read_text().replace("max_plans = 2", "max_plans = 1"))
    proc = cli("finetune", "curriculum", str(changed))
    assert proc.returncode == 2
    assert "holds a curriculum with other settings" in proc.stderr
    assert len(proc.stderr.strip().splitlines()) == 1
