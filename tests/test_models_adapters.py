"""Several LoRA adapters on one llama.cpp model, chosen per call: each call computes what a
model loaded with that adapter alone (llama.cpp's own load-time LoRA) computes, whatever ran
before it (the KV cache of one adapter never serves another)."""

from pathlib import Path

import pytest

from models.adapters import AdaptedChatModel
from models.chat_model import ModelError
from models.llamacpp import LlamaCppChatModel
from schemas.chat import system, user

pytestmark = pytest.mark.slow
PLANNER = [system("You plan the next step."), user("How high is Mount Everest? Plan one step.")]
TOOL = [system("You fill in arguments."), user("Task: e-mail ana@example.com that it is done")]


@pytest.fixture(scope="module")
def adapters(tmp_path_factory) -> dict[str, Path]:
    """Two GGUF LoRA adapters of the bundled base with random weights, large enough to
    change what the model writes."""
    import torch
    from peft import LoraConfig, get_peft_model
    from transformers import AutoModelForCausalLM

    from finetune.base_model import resolve_base
    from models.bundled import BUNDLED_NAME
    from quantize.lora import export_lora

    base = Path(resolve_base(BUNDLED_NAME))
    folder = tmp_path_factory.mktemp("adapters")
    paths = {}
    for seed, name in enumerate(("planner", "tool_caller")):
        torch.manual_seed(seed)
        model = AutoModelForCausalLM.from_pretrained(base, dtype=torch.float32)
        config = LoraConfig(r=4, lora_alpha=8, target_modules="all-linear", init_lora_weights=False)
        model = get_peft_model(model, config)
        with torch.no_grad():
            for param_name, param in model.named_parameters():
                if "lora_B" in param_name:
                    param.normal_(0, 0.1)
        model.save_pretrained(folder / name)
        paths[name] = export_lora(folder / name, folder / f"{name}.gguf").path
    return paths


def text(model, messages, **kwargs) -> str:
    return model.complete(messages, max_tokens=12, **kwargs).text


def test_each_call_runs_its_own_adapter(bundled_path, adapters):
    alone = {
        name: LlamaCppChatModel(bundled_path, n_ctx=512, n_threads=1, lora=path)
        for name, path in adapters.items()
    }
    expected = {name: (text(m, PLANNER), text(m, TOOL)) for name, m in alone.items()}
    bare = LlamaCppChatModel(bundled_path, n_ctx=512, n_threads=1)
    expected_bare = text(bare, PLANNER)
    del alone, bare

    shared = AdaptedChatModel(bundled_path, n_ctx=512, n_threads=1, adapters=adapters)
    planner, tool_caller = shared.with_adapter("planner"), shared.with_adapter("tool_caller")
    # Interleaved as in an agent run: planner, tool, planner again (its prefix cached).
    assert text(planner, PLANNER) == expected["planner"][0]
    assert text(tool_caller, TOOL) == expected["tool_caller"][1]
    assert text(tool_caller, PLANNER) == expected["tool_caller"][0]
    assert text(planner, PLANNER) == expected["planner"][0]
    assert text(shared, PLANNER) == expected_bare  # no adapter named: the bare base
    assert expected["planner"][0] != expected["tool_caller"][0]  # the adapters matter
    assert shared.adapters.switches == 4


def test_the_default_adapter_is_lora_and_an_unknown_name_is_one_error(bundled_path, adapters):
    model = AdaptedChatModel(
        bundled_path, n_ctx=512, n_threads=1, lora=adapters["planner"],
        adapters={"tool_caller": adapters["tool_caller"]},
    )  # fmt: skip
    solo = LlamaCppChatModel(bundled_path, n_ctx=512, n_threads=1, lora=adapters["planner"])
    assert text(model, PLANNER) == text(solo, PLANNER)
    with pytest.raises(ModelError, match="no LoRA adapter named 'reflector'"):
        model.with_adapter("reflector")
