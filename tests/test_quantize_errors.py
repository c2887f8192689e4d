"""Bad input to export, quantize and verify: one clear line, exit 2, and nothing half-written."""

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from quantize.errors import ExportError, QuantizeError, VerifyError
from quantize.export import export
from quantize.quantize import output_path, parse_types, quantize
from quantize.validation import read_prompts
from quantize.verify import verify

WAYPOINT = str(Path(sys.executable).with_name("waypoint"))

LLAMA_CONFIG = {
    "architectures": ["LlamaForCausalLM"],
    "hidden_size": 64,
    "intermediate_size": 128,
    "num_hidden_layers": 2,
    "num_attention_heads": 4,
    "max_position_embeddings": 256,
    "rms_norm_eps": 1e-5,
    "vocab_size": 100,
}


def model_folder(tmp_path: Path, config: dict | None) -> Path:
    folder = tmp_path / "model"
    folder.mkdir()
    if config is not None:
        (folder / "config.json").write_text(json.dumps(config))
    return folder


@pytest.mark.parametrize(
    ("config", "message"),
    [
        (None, "is not a Hugging Face model folder (no config.json)"),
        ({"model_type": "llama"}, "names no architecture"),
        ({"architectures": ["BertModel"]}, "unsupported architecture BertModel"),
        ({**LLAMA_CONFIG, "hidden_size": "wide"}, "hidden_size"),
        (LLAMA_CONFIG, "has no *.safetensors weights"),
    ],
)
def test_export_refuses_what_it_cannot_convert(tmp_path, config, message):
    out = tmp_path / "out.gguf"
    with pytest.raises(ExportError) as caught:
        export(model_folder(tmp_path, config), out)
    assert message in str(caught.value)
    assert not out.exists() and not list(tmp_path.glob("*.partial"))


def test_export_refuses_an_unknown_dtype(tmp_path):
    with pytest.raises(ExportError, match="unknown dtype 'f8'"):
        export(model_folder(tmp_path, LLAMA_CONFIG), tmp_path / "out.gguf", dtype="f8")  # type: ignore[arg-type]


def test_quantization_types_are_checked_and_named_as_llama_cpp_does():
    assert parse_types("q8_0, Q4_K_M") == ["Q8_0", "Q4_K_M"]
    with pytest.raises(QuantizeError, match="unknown quantization type Q9_9, FOO"):
        parse_types("Q9_9,Q8_0,foo")
    with pytest.raises(QuantizeError, match="no quantization type"):
        parse_types(" , ")
    assert output_path(Path("runs/planner.f16.gguf"), "Q8_0") == Path("runs/planner.Q8_0.gguf")
    assert output_path(Path("m-bf16.gguf"), "Q4_K_M", Path("d")) == Path("d/m.Q4_K_M.gguf")


def test_quantize_refuses_files_that_are_not_gguf(tmp_path):
    with pytest.raises(QuantizeError, match="no such model file"):
        quantize(tmp_path / "missing.gguf", "Q8_0")
    text = tmp_path / "notes.gguf"
    text.write_text("not a model")
    with pytest.raises(QuantizeError, match="is not a GGUF file"):
        quantize(text, "Q8_0")


def test_requantizing_a_quantized_file_is_refused_with_llama_cpp_reason(bundled_path, tmp_path):
    with pytest.raises(QuantizeError, match="requantizing from type q4_1 is disabled"):
        quantize(bundled_path, "Q8_0", out_dir=tmp_path)
    assert list(tmp_path.iterdir()) == []


def test_verify_refuses_missing_inputs(tmp_path, bundled_path):
    with pytest.raises(VerifyError, match="no such model file"):
        verify(tmp_path, [tmp_path / "x.gguf"], [[]], ["final_answer"])
    with pytest.raises(VerifyError, match="not a Hugging Face model folder"):
        verify(tmp_path, [bundled_path], [[]], ["final_answer"])
    with pytest.raises(VerifyError, match="is not among the files verified"):
        verify(tmp_path, [bundled_path], [[]], ["final_answer"], baseline=tmp_path / "f16.gguf")
    bad = tmp_path / "val.jsonl"
    bad.write_text('{"request_id": "r"}\n')
    with pytest.raises(VerifyError, match="line 1: not an SFT example"):
        read_prompts(bad)


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["export", "{tmp}", "--out", "{tmp}/x.gguf"], "no config.json"),
        (["quantize", "{bundled}", "--type", "Q9_9"], "unknown quantization type Q9_9"),
        (["quantize", "{tmp}/none.gguf"], "no such model file"),
        (["quantize", "verify", "{bundled}", "--reference", "{tmp}"], "not a Hugging Face model"),
    ],
)
def test_cli_bad_input_is_one_clear_line(tmp_path, bundled_path, args, message):
    argv = [a.format(tmp=tmp_path, bundled=bundled_path) for a in args]
    env = os.environ | {"WAYPOINT_HOME": str(tmp_path)}
    run = subprocess.run([WAYPOINT, *argv], capture_output=True, text=True, env=env, check=False)
    assert run.returncode == 2, run.stderr
    assert message in run.stderr and "Traceback" not in run.stderr
    assert len(run.stderr.strip().splitlines()) == 1
