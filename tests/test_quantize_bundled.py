"""Export and quantization on the bundled model: its GGUF loaded by transformers
(dequantized), exported back to GGUF by waypoint, run by llama.cpp and compared with
transformers token for token; then quantized to Q8_0 and Q4_K_M and checked as a planner."""

import os
import shutil
import subprocess
import sys
from contextlib import contextmanager
from pathlib import Path

import gguf
import pytest

from planner.model_planner import MAX_PLAN_TOKENS
from quantize.export import export
from quantize.quantize import quantize
from quantize.validation import atlas_prompts
from quantize.verify import VerifyReport, verify
from schemas.grammar import compile_grammar
from schemas.plan import plan_model
from tools.atlas.tools import ATLAS_TOOL_NAMES

pytestmark = pytest.mark.slow

WAYPOINT = str(Path(sys.executable).with_name("waypoint"))
PROMPTS = ["What is the capital of France?", "List three colors.", "Add 1999 and 21, please."]
TRICKY = ["In 2059, I'm 83 (born 1976).", "  two  spaces\n\nand\ttabs ", "naïve café 東京 🚀 don't"]


@pytest.fixture(scope="session")
def hf_dir(bundled_path, tmp_path_factory):
    """The bundled GGUF as transformers reads it, saved once as a Hugging Face folder."""
    from transformers import AutoModelForCausalLM, AutoTokenizer, GgufConfig

    folder = tmp_path_factory.mktemp("quantize") / "hf"
    source = {"pretrained_model_name_or_path": bundled_path.parent, "gguf_file": bundled_path.name}
    AutoTokenizer.from_pretrained(**source).save_pretrained(folder)
    model = AutoModelForCausalLM.from_pretrained(
        **source, quantization_config=GgufConfig(dequantize=True)
    )
    model.save_pretrained(folder)
    return folder


@pytest.fixture(scope="module")
def hf_model(hf_dir):
    from transformers import AutoModelForCausalLM, AutoTokenizer

    return AutoModelForCausalLM.from_pretrained(hf_dir).eval(), AutoTokenizer.from_pretrained(
        hf_dir
    )


@pytest.fixture(scope="module")
def f16_gguf(hf_dir, tmp_path_factory):
    return export(hf_dir, tmp_path_factory.mktemp("gguf") / "planner.f16.gguf", dtype="f16").path


@pytest.fixture(scope="module")
def quantized(f16_gguf):
    progress: dict[str, tuple[int, int]] = {}

    def on_tensor(qtype):
        return lambda name, done, total: progress.__setitem__(qtype, (done, total))

    files = {q.type: q for q in quantize(f16_gguf, "Q8_0,q4_k_m", on_tensor=on_tensor)}
    return files, progress


@contextmanager
def llama(path: Path, n_ctx: int = 1024):
    from llama_cpp import Llama

    from models.amx import avoid_amx

    avoid_amx()
    llm = Llama(str(path), n_ctx=n_ctx, n_threads=1, verbose=False)
    try:
        yield llm
    finally:
        llm.close()


def chat_ids(tokenizer, text: str) -> list[int]:
    rendered = tokenizer.apply_chat_template(
        [{"role": "user", "content": text}], tokenize=False, add_generation_prompt=True
    )
    return tokenizer(rendered)["input_ids"]


def test_llama_cpp_greedy_output_matches_transformers(hf_model, f16_gguf):
    import torch

    model, tokenizer = hf_model
    with llama(f16_gguf) as llm:
        for prompt in PROMPTS:
            ids = chat_ids(tokenizer, prompt)
            with torch.no_grad():
                expected = model.generate(torch.tensor([ids]), max_new_tokens=24, do_sample=False)
            expected = expected[0, len(ids) :].tolist()
            got = []
            for token in llm.generate(ids, temp=0.0, top_k=1, reset=True):
                got.append(token)
                if len(got) == len(expected) or llm.token_eos() == token:
                    break
            assert got == expected, (prompt, tokenizer.decode(got), tokenizer.decode(expected))


def test_chat_template_and_special_tokens_survive(hf_model, f16_gguf):
    import llama_cpp
    from llama_cpp.llama_chat_format import Jinja2ChatFormatter

    from models.matcher import Vocab

    _, tokenizer = hf_model
    reader = gguf.GGUFReader(f16_gguf)

    def field(key):
        return reader.get_field(key).contents()

    assert field("tokenizer.chat_template") == tokenizer.chat_template
    assert field("tokenizer.ggml.bos_token_id") == tokenizer.bos_token_id
    assert field("tokenizer.ggml.eos_token_id") == tokenizer.eos_token_id
    assert field("tokenizer.ggml.padding_token_id") == tokenizer.pad_token_id
    assert field("tokenizer.ggml.add_bos_token") is False

    messages = [{"role": "system", "content": "Plan."}, {"role": "user", "content": "Hi 42"}]
    rendered = tokenizer.apply_chat_template(messages, tokenize=False, add_generation_prompt=True)
    formatter = Jinja2ChatFormatter(
        field("tokenizer.chat_template"), eos_token="<|im_end|>", bos_token="<|im_start|>"
    )
    assert formatter(messages=messages).prompt == rendered

    vocab = Vocab(f16_gguf)
    assert vocab.tokenize(rendered) == tokenizer(rendered)["input_ids"]
    assert llama_cpp.llama_vocab_is_eog(vocab.ptr, tokenizer.convert_tokens_to_ids("<|im_end|>"))
    for text in TRICKY:
        assert vocab.tokenize(text) == tokenizer(text, add_special_tokens=False)["input_ids"]


def test_quantized_files_are_smaller_and_report_progress(f16_gguf, quantized):
    files, progress = quantized
    assert set(files) == {"Q8_0", "Q4_K_M"}
    assert files["Q4_K_M"].size_bytes < files["Q8_0"].size_bytes < f16_gguf.stat().st_size
    assert files["Q8_0"].path.name == "planner.Q8_0.gguf"
    assert progress["Q8_0"][0] == progress["Q8_0"][1] == 272
    # 576-wide rows do not fit q4_K's 256-blocks: llama.cpp falls back, and we count it
    assert files["Q8_0"].fallbacks == 0 < files["Q4_K_M"].fallbacks
    for q in files.values():
        declared = gguf.GGUFReader(q.path).get_field("general.file_type").contents()
        assert declared == gguf.LlamaFileType[f"MOSTLY_{q.type}"]


@pytest.mark.parametrize("qtype", ["Q8_0", "Q4_K_M"])
def test_quantized_files_write_grammar_valid_plans(quantized, qtype):
    from llama_cpp import LlamaGrammar

    plan_class = plan_model(ATLAS_TOOL_NAMES)
    gbnf = compile_grammar(plan_class).gbnf
    with llama(quantized[0][qtype].path, n_ctx=2048) as llm:
        for messages in atlas_prompts(1):
            out = llm.create_chat_completion(
                [m.model_dump() for m in messages],
                grammar=LlamaGrammar.from_string(gbnf, verbose=False),
                temperature=0.0,
                # the untuned base at 4 bit repeats digits until the grammar's string bounds
                # close each field, and every digit is a token: room for all three fields
                max_tokens=3 * MAX_PLAN_TOKENS,
            )
            assert out["choices"][0]["finish_reason"] == "stop"
            plan = plan_class.model_validate_json(out["choices"][0]["message"]["content"])
            assert plan.tool in ATLAS_TOOL_NAMES


def test_verify_measures_agreement_and_drift(hf_dir, f16_gguf, quantized, tmp_path):
    q4 = quantized[0]["Q4_K_M"].path
    twin = tmp_path / "twin.f16.gguf"  # the f16 file again: the same engine agrees fully
    shutil.copyfile(f16_gguf, twin)
    files = [f16_gguf, q4, twin]
    report = verify(hf_dir, files, atlas_prompts(2), ATLAS_TOOL_NAMES, threads=1, baseline=f16_gguf)
    f16, q4_row, twin_row = report.files
    assert report.prompts == 2 and report.reference_parse_rate == 1.0
    assert (f16.file_type, q4_row.file_type) == ("F16", "Q4_K_M")
    # the reference answers the very prompt the GGUFs get: f16 plans are the HF model's
    assert f16.parse_rate == 1.0 and f16.same_tool == 1.0 and f16.identical == 1.0
    assert f16.logprob_drift < 0.05
    assert f16.logprob_drift < q4_row.logprob_drift
    assert f16.baseline is None and q4_row.baseline is not None
    assert twin_row.baseline is not None and twin_row.baseline.identical == 1.0
    assert VerifyReport.model_validate_json(report.model_dump_json()) == report


def test_cli_verify_compares_with_a_baseline_file(hf_dir, f16_gguf, quantized, tmp_path):
    q8 = quantized[0]["Q8_0"].path
    out = tmp_path / "verify.json"
    args = [str(f16_gguf), str(q8), "--reference", str(hf_dir), "--count", "1"]
    done = subprocess.run(
        [WAYPOINT, "quantize", "verify", *args, "--baseline", str(f16_gguf), "--json", str(out)],
        capture_output=True, text=True, check=False,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    report = VerifyReport.model_validate_json(out.read_text())
    assert report.files[0].baseline is None and report.files[1].baseline is not None


def test_cli_export_and_quantize_register_the_files(hf_dir, tmp_path, monkeypatch):
    from models.registry import entry_for

    monkeypatch.setenv("WAYPOINT_HOME", str(tmp_path))
    env = os.environ | {"WAYPOINT_HOME": str(tmp_path)}
    out = tmp_path / "planner.f16.gguf"

    def run(*args):
        done = subprocess.run(
            [WAYPOINT, *args], capture_output=True, text=True, env=env, check=False
        )
        assert done.returncode == 0, done.stderr
        return done.stdout

    assert "registered as planner" in run(
        "export", str(hf_dir), "--out", str(out), "--name", "planner"
    )
    assert "Q8_0" in run("quantize", str(out), "--type", "Q8_0", "--name", "planner")
    assert entry_for("planner").path == out
    assert entry_for("planner-q8_0").path == tmp_path / "planner.Q8_0.gguf"
    assert entry_for("planner-q8_0").model_extra["quantization"] == "Q8_0"
