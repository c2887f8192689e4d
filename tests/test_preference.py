"""The preference stage (seed 000, KnowSelf's stage 2: RPO) for real at tiny scale on the
bundled model (CPU): pairs are the planner's own mistakes against the gold plans, and a
few steps on top of an adapter lower the rejected plans' likelihood relative to the chosen
ones, measured here apart from trl's own figures."""

import json

import pytest
import torch
from test_self_aware import scripted_explorations
from typer.testing import CliRunner

from finetune.base_model import load_tokenizer, resolve_base
from finetune.explore import EXPLORATIONS
from finetune.preference import PreferenceConfig, preference_pairs, train_preference
from finetune.sft_data import DatasetError
from finetune.train import RunFolderError
from planner.knowledge import KnowledgeBase
from planner.prompts import fine_tuned_messages, plan_text, self_aware_messages
from schemas.awareness import aware_text
from schemas.chat import assistant
from schemas.trajectory import Scratchpad
from tools.atlas.requests import atlas_requests
from tools.atlas.tools import atlas_tools
from tools.atlas.world import build_world
from waypoint.cli import app

BASE = "smollm2-135m"


@pytest.fixture(scope="module", autouse=True)
def one_torch_thread():
    """Two torch threads spin-wait on each other on a shared 2-core machine."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


@pytest.fixture(scope="module")
def lookups():
    return atlas_requests(build_world(1), 2, shapes=("lookup",))


@pytest.fixture(scope="module")
def explored(lookups, tmp_path_factory):
    """A folder holding two explored requests with one mistake each (reflect, consult)."""
    folder = tmp_path_factory.mktemp("explored")
    tools = atlas_tools(build_world(1))
    records = scripted_explorations(lookups, tools, folder / EXPLORATIONS)
    return folder, records


def test_a_pair_is_a_mistake_in_the_prompt_the_planner_saw(explored, lookups):
    _, records = explored
    pairs = preference_pairs(records)
    assert [(p.request_id, p.step, p.situation) for p in pairs] == [
        (lookups[0].id, 2, "reflect"),
        (lookups[1].id, 1, "consult"),
    ]
    reflect = pairs[0]
    assert reflect.prompt == fine_tuned_messages(
        lookups[0].text, Scratchpad(steps=records[0].steps[:1])
    )
    assert reflect.chosen == plan_text(lookups[0].plans()[1])
    assert reflect.rejected == plan_text(records[0].explored[1].own)
    assert [p.situation for p in preference_pairs(records, ["consult"])] == ["consult"]


def test_self_aware_pairs_teach_the_mode_the_step_needed(explored, lookups):
    """KnowSelf's own stage 2: the chosen text is the step's labelled start (a consult, or
    a self-check and the gold plan), the rejected one the planner's plan acted on at once."""
    _, records = explored
    reflect, consult = preference_pairs(records, knowledge=KnowledgeBase.load())
    assert reflect.chosen.startswith('{"mode":"reflect","check":"Not final_answer for')
    assert reflect.chosen.endswith(aware_text("act", lookups[0].plans()[1])[len('{"mode":"act"') :])
    assert reflect.rejected == aware_text("act", records[0].explored[1].own)
    assert reflect.prompt == self_aware_messages(
        lookups[0].text, Scratchpad(steps=records[0].steps[:1])
    )
    assert consult.chosen == aware_text("consult")
    assert consult.prompt == self_aware_messages(lookups[1].text, Scratchpad())


def make_adapter(folder):
    """An adapter of the base that differs from it a little, as an SFT adapter would."""
    from peft import LoraConfig, get_peft_model
    from transformers import AutoModelForCausalLM

    torch.manual_seed(0)
    base = AutoModelForCausalLM.from_pretrained(resolve_base(BASE))
    model = get_peft_model(base, LoraConfig(r=8, lora_alpha=16, target_modules="all-linear"))
    with torch.no_grad():
        for name, parameter in model.named_parameters():
            if "lora_B" in name:
                parameter.normal_(0.0, 2e-3)
    model.save_pretrained(folder)
    return folder


def margins(adapter, pairs) -> list[float]:
    """log p(chosen) - log p(rejected) of each pair, under base + `adapter`."""
    from peft import PeftModel
    from transformers import AutoModelForCausalLM

    tokenizer = load_tokenizer(resolve_base(BASE))
    base = AutoModelForCausalLM.from_pretrained(resolve_base(BASE))
    model = PeftModel.from_pretrained(base, str(adapter)).eval()

    def logp(prompt, completion: str) -> float:
        messages = [m.model_dump() for m in prompt]
        prompt_ids = tokenizer.apply_chat_template(messages, add_generation_prompt=True)
        start = len(prompt_ids["input_ids"])
        full = [*messages, assistant(completion).model_dump()]
        ids = torch.tensor([tokenizer.apply_chat_template(full)["input_ids"]])
        with torch.no_grad():
            logits = model(input_ids=ids).logits[0, :-1].log_softmax(-1)
        targets = ids[0, 1:]
        return logits[start - 1 :].gather(1, targets[start - 1 :, None]).sum().item()

    return [logp(p.prompt, p.chosen) - logp(p.prompt, p.rejected) for p in pairs]


@pytest.mark.slow
def test_rpo_lowers_the_rejected_plans_relative_to_the_chosen(explored, tmp_path):
    folder, records = explored
    adapter = make_adapter(tmp_path / "sft")
    config = PreferenceConfig(
        pairs=folder, out=tmp_path / "rpo", base=BASE, adapter=adapter, precision="fp32",
        max_steps=2, batch_size=2, grad_accum=1, max_length=320, learning_rate=2e-3,
        lr_scheduler="constant", warmup_ratio=0.0, logging_steps=1, save_steps=2,
    )  # fmt: skip
    result = train_preference(config)
    pairs = preference_pairs(records)
    before, after = margins(adapter, pairs), margins(result.adapter, pairs)
    rise = [b - a for a, b in zip(before, after, strict=True)]
    assert all(r > 0.5 for r in rise), rise  # each pair moved apart, in nats
    assert result.margin == pytest.approx(sum(rise) / len(rise), rel=0.05, abs=0.05)
    assert result.improved == 1.0 and result.pairs == 2 and result.steps == 2
    assert result.rejected_logp_change < result.chosen_logp_change
    # the run trains the adapter it was given; trl's frozen copy (the reference) is not saved
    saved = json.loads((result.adapter / "adapter_config.json").read_text())
    assert saved["r"] == 8
    assert not (result.adapter / "ref").exists()
    assert json.loads((config.out / "result.json").read_text())["margin"] == result.margin


def test_no_mistake_to_learn_is_one_clear_error(explored, tmp_path):
    folder, _ = explored
    config = PreferenceConfig(pairs=folder, out=tmp_path / "rpo", situations=["reflect"])
    with pytest.raises(DatasetError, match="every preference pair is longer than"):
        train_preference(config.model_copy(update={"max_length": 16}))
    with pytest.raises(DatasetError, match="no explorations in"):
        train_preference(config.model_copy(update={"pairs": tmp_path / "none"}))


def test_an_adapter_of_another_base_is_refused(explored, tmp_path):
    folder, _ = explored
    adapter = tmp_path / "other"
    adapter.mkdir()
    (adapter / "adapter_config.json").write_text("{}")
    (adapter / "finetune.json").write_text(json.dumps({"out": "x", "base": "other/model"}))
    config = PreferenceConfig(pairs=folder, out=tmp_path / "rpo", adapter=adapter)
    with pytest.raises(RunFolderError, match="was trained on other/model"):
        train_preference(config)


def test_the_cli_names_the_stage_and_an_example():
    result = CliRunner().invoke(app, ["finetune", "preference", "--help"])
    assert result.exit_code == 0
    assert "waypoint finetune preference" in result.output and "--adapter" in result.output
