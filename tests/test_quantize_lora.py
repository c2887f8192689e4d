"""A LoRA adapter exported to GGUF and applied by llama.cpp computes what peft computes:
the bundled base (exported to f16) plus the adapter, against transformers with the same
adapter, logit for logit."""

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from quantize.errors import ExportError
from quantize.export import export
from quantize.lora import export_lora

pytestmark = pytest.mark.slow
WAYPOINT = str(Path(sys.executable).parent / "waypoint")
PROMPT = "<|im_start|>user\nHow high is Mount Everest?<|im_end|>\n<|im_start|>assistant\n"


@pytest.fixture(scope="module")
def base_dir():
    from finetune.base_model import resolve_base
    from models.bundled import BUNDLED_NAME

    return Path(resolve_base(BUNDLED_NAME))


@pytest.fixture(scope="module")
def adapter(base_dir, tmp_path_factory):
    """A LoRA with random A and B on every linear layer, large enough to change the output."""
    import torch
    from peft import LoraConfig, get_peft_model
    from transformers import AutoModelForCausalLM

    torch.manual_seed(0)
    model = AutoModelForCausalLM.from_pretrained(base_dir, dtype=torch.float32)
    config = LoraConfig(r=8, lora_alpha=16, target_modules="all-linear", init_lora_weights=False)
    model = get_peft_model(model, config)
    with torch.no_grad():
        for name, param in model.named_parameters():
            if "lora_B" in name:
                param.normal_(0, 0.02)
    folder = tmp_path_factory.mktemp("lora") / "adapter"
    model.save_pretrained(folder)
    return folder, model.eval()


def llama_logits(model_path, lora=None) -> np.ndarray:
    from llama_cpp import Llama

    llm = Llama(str(model_path), n_ctx=256, n_threads=1, logits_all=True, verbose=False,
                lora_path=str(lora) if lora else None)  # fmt: skip
    tokens = llm.tokenize(PROMPT.encode(), add_bos=False, special=True)
    llm.eval(tokens)
    return np.array(llm.scores[: len(tokens)]), tokens


def test_llama_cpp_applies_the_exported_adapter_as_peft_does(adapter, base_dir, tmp_path):
    import torch

    folder, peft_model = adapter
    result = export_lora(folder, tmp_path / "adapter.gguf")
    assert result.rank == 8 and result.alpha == 16 and result.architecture == "llama"
    assert result.tensors == 2 * 7 * 30  # A and B of seven projections in 30 layers
    base = export(base_dir, tmp_path / "base.f16.gguf", dtype="f16").path

    adapted, tokens = llama_logits(base, result.path)
    plain, _ = llama_logits(base)
    with torch.no_grad():
        reference = peft_model(torch.tensor([tokens])).logits[0].numpy()
    gap = np.abs(adapted - reference).max()
    change = np.abs(plain - reference).max()
    assert gap < 0.15 < change  # the adapter matters, and llama.cpp applies it faithfully
    assert (adapted.argmax(-1) == reference.argmax(-1)).mean() == 1.0


def test_a_folder_without_an_adapter_is_one_clear_error(tmp_path):
    with pytest.raises(ExportError, match="not a LoRA adapter folder"):
        export_lora(tmp_path, tmp_path / "x.gguf")
    (tmp_path / "adapter_config.json").write_text(json.dumps({"peft_type": "IA3"}))
    (tmp_path / "adapter_model.safetensors").write_bytes(b"")
    with pytest.raises(ExportError, match="only plain LoRA"):
        export_lora(tmp_path, tmp_path / "x.gguf")


def test_waypoint_export_registers_an_adapter_as_a_planner_over_the_bundled_base(
    adapter, tmp_path, monkeypatch
):
    from models.bundled import bundled_model_path
    from models.registry import entry_for

    env = {**os.environ, "HF_HUB_OFFLINE": "1", "WAYPOINT_HOME": str(tmp_path)}
    out = tmp_path / "mine.lora.gguf"

    def export(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run([WAYPOINT, "export", str(adapter[0]), "--out", str(out), *args],
                              env=env, capture_output=True, text=True)  # fmt: skip

    done = export()
    assert done.returncode == 0, done.stderr
    assert "registered as mine.lora" in done.stdout
    monkeypatch.setenv("WAYPOINT_HOME", str(tmp_path))
    entry = entry_for("mine.lora")
    assert entry.path == bundled_model_path() and entry.planner == "fine-tuned"
    assert entry.lora == out
    adapted, _ = llama_logits(entry.path, entry.lora)
    plain, _ = llama_logits(entry.path)
    assert np.abs(adapted - plain).max() > 0.15  # the registered planner runs the adapter

    refused = export("--base", "not-a-gguf", "--name", "other")
    assert refused.returncode != 0 and "Traceback" not in refused.stderr
    assert "--base not-a-gguf" in refused.stderr
