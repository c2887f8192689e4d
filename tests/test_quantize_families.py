"""The exporter on the families beyond the bundled llama, with tiny random models: after
export, llama.cpp must compute transformers' logits and tokenize text as transformers does.

Each model gets the bundled tokenizer, with the pre-tokenizer of the family it imitates
(Llama 3, Qwen2), so the identification of `tokenizer.ggml.pre` is checked against
llama.cpp's own behaviour on text where the pre-tokenizers differ.
"""

import json
import shutil
from pathlib import Path

import gguf
import numpy as np
import pytest

from quantize.errors import ExportError
from quantize.export import export
from quantize.vocab import PRE_TOKENIZERS

TRICKY = "In 2059 I'M 83 (born 1976).\r\n\n  two  spaces\tand DON'T naïve café 東京 🚀 x=1234567"
SMALL = {
    "hidden_size": 64,
    "intermediate_size": 128,
    "num_hidden_layers": 2,
    "num_attention_heads": 4,
    "num_key_value_heads": 2,
    "max_position_embeddings": 512,
    "tie_word_embeddings": False,
    # large weights make attention sharp, so a wrong rotary layout or frequency shows
    "initializer_range": 0.3,
}
LLAMA3_ROPE = {
    "rope_type": "llama3",
    "rope_theta": 10000.0,
    "factor": 8.0,
    "low_freq_factor": 1.0,
    "high_freq_factor": 4.0,
    "original_max_position_embeddings": 64,  # small, so all three bands occur at head_dim 16
}


@pytest.fixture(scope="module")
def tokenizer_dir(bundled_path, tmp_path_factory):
    from transformers import AutoTokenizer

    folder = tmp_path_factory.mktemp("tokenizer")
    AutoTokenizer.from_pretrained(bundled_path.parent, gguf_file=bundled_path.name).save_pretrained(
        folder
    )
    return folder


def with_pre_tokenizer(source: Path, target: Path, pre: str) -> None:
    """Copy the tokenizer files, swapping in the pre-tokenizer llama.cpp calls `pre`."""
    shutil.copytree(source, target, dirs_exist_ok=True)
    key = next(k for k, name in PRE_TOKENIZERS.items() if name == pre)
    (_, pattern), _ = key
    tokenizer = json.loads((target / "tokenizer.json").read_text())
    tokenizer["pre_tokenizer"] = {
        "type": "Sequence",
        "pretokenizers": [
            {
                "type": "Split",
                "pattern": {"Regex": pattern},
                "behavior": "Isolated",
                "invert": False,
            },
            {
                "type": "ByteLevel",
                "add_prefix_space": False,
                "trim_offsets": True,
                "use_regex": False,
            },
        ],
    }
    (target / "tokenizer.json").write_text(json.dumps(tokenizer))


def tiny_model(folder: Path, architecture: str, vocab_size: int = 49152, **config) -> Path:
    import torch
    from transformers import AutoConfig, AutoModelForCausalLM

    model_type = {"LlamaForCausalLM": "llama", "MistralForCausalLM": "mistral"}.get(
        architecture, "qwen2"
    )
    cfg = AutoConfig.for_model(
        model_type, architectures=[architecture], vocab_size=vocab_size, **SMALL, **config
    )
    torch.manual_seed(0)
    AutoModelForCausalLM.from_config(cfg).save_pretrained(folder)
    return folder


def llama_cpp_logits(path: Path, ids: list[int]) -> np.ndarray:
    from llama_cpp import Llama

    from models.amx import avoid_amx

    avoid_amx()
    llm = Llama(str(path), n_ctx=256, n_threads=1, logits_all=True, verbose=False)
    try:
        llm.eval(ids)
        return np.array(llm.scores[: len(ids)])
    finally:
        llm.close()


CASES = {
    "qwen2": ("Qwen2ForCausalLM", "qwen2", {"rope_theta": 1000000.0}),
    "mistral-head-dim": ("MistralForCausalLM", None, {"head_dim": 32, "sliding_window": None}),
    "llama3-rope": ("LlamaForCausalLM", "llama-bpe", {"rope_parameters": LLAMA3_ROPE}),
    "linear-rope": (
        "LlamaForCausalLM",
        None,
        {"rope_parameters": {"rope_type": "linear", "factor": 2.0, "rope_theta": 10000.0}},
    ),
}


@pytest.mark.parametrize("case", CASES)
def test_exported_family_matches_transformers(case, tokenizer_dir, tmp_path):
    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer

    from models.matcher import Vocab

    architecture, pre, config = CASES[case]
    folder = tiny_model(tmp_path / "model", architecture, **config)
    if pre:
        with_pre_tokenizer(tokenizer_dir, folder, pre)
    else:
        shutil.copytree(tokenizer_dir, folder, dirs_exist_ok=True)
    result = export(folder, tmp_path / "tiny.gguf", dtype="f32")

    tokenizer = AutoTokenizer.from_pretrained(folder)
    ids = tokenizer(TRICKY, add_special_tokens=False)["input_ids"]
    assert Vocab(result.path).tokenize(TRICKY) == ids

    ids = (ids * 4)[:120]  # long enough for every rotary band to turn
    with torch.no_grad():
        expected = AutoModelForCausalLM.from_pretrained(folder)(torch.tensor([ids])).logits[0]
    got = llama_cpp_logits(result.path, ids)
    scale = float(expected.abs().max())
    assert np.abs(got - expected.numpy()).max() < 0.02 * scale  # correct: ≈0.004, wrong: ≈1
    assert (got.argmax(-1) == expected.numpy().argmax(-1)).mean() > 0.95


@pytest.fixture(scope="module")
def sentencepiece_dir(tmp_path_factory):
    """A Llama-2 / Mistral style tokenizer: SentencePiece BPE with byte fallback, trained
    here on a few sentences, as transformers loads and saves it."""
    import sentencepiece
    from transformers import AutoTokenizer

    folder = tmp_path_factory.mktemp("sentencepiece")
    corpus = ["The quick brown fox jumps over the lazy dog.", "In 2059 I'm 83 years old."] * 50
    sentencepiece.SentencePieceTrainer.train(
        sentence_iterator=iter(corpus), model_prefix=str(folder / "sp"), vocab_size=300,
        model_type="bpe", byte_fallback=True, character_coverage=1.0,
        unk_id=0, bos_id=1, eos_id=2, pad_id=-1, minloglevel=2,
    )  # fmt: skip
    (folder / "sp.model").rename(folder / "tokenizer.model")
    config = {"tokenizer_class": "LlamaTokenizer", "bos_token": "<s>", "eos_token": "</s>"}
    (folder / "tokenizer_config.json").write_text(json.dumps(config | {"unk_token": "<unk>"}))
    AutoTokenizer.from_pretrained(folder).save_pretrained(folder)
    return folder


def test_a_sentencepiece_model_matches_transformers(sentencepiece_dir, tmp_path):
    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer

    from models.matcher import Vocab

    folder = tiny_model(tmp_path / "model", "MistralForCausalLM", vocab_size=300)
    shutil.copytree(sentencepiece_dir, folder, dirs_exist_ok=True)
    path = export(folder, tmp_path / "tiny.gguf", dtype="f32").path

    tokenizer = AutoTokenizer.from_pretrained(folder)
    ids = tokenizer(TRICKY)["input_ids"]
    # llama.cpp adds BOS exactly when transformers does
    add_bos = gguf.GGUFReader(path).get_field("tokenizer.ggml.add_bos_token").contents()
    assert [tokenizer.bos_token_id] * add_bos + Vocab(path).tokenize(TRICKY) == ids
    with torch.no_grad():
        expected = AutoModelForCausalLM.from_pretrained(folder)(torch.tensor([ids])).logits[0]
    got = llama_cpp_logits(path, ids)
    assert np.abs(got - expected.numpy()).max() < 0.02 * float(expected.abs().max())


def test_an_unsupported_rope_scaling_is_refused(tmp_path, tokenizer_dir):
    rope = {"rope_type": "dynamic", "factor": 2.0, "rope_theta": 10000.0}
    folder = tiny_model(tmp_path / "model", "LlamaForCausalLM", rope_parameters=rope)
    shutil.copytree(tokenizer_dir, folder, dirs_exist_ok=True)
    with pytest.raises(ExportError, match="rope scaling 'dynamic' is not supported"):
        export(folder, tmp_path / "tiny.gguf")
    assert not (tmp_path / "tiny.gguf").exists()


def test_an_unknown_pre_tokenizer_is_refused(tmp_path, tokenizer_dir):
    folder = tiny_model(tmp_path / "model", "LlamaForCausalLM")
    shutil.copytree(tokenizer_dir, folder, dirs_exist_ok=True)
    tokenizer = json.loads((folder / "tokenizer.json").read_text())
    tokenizer["pre_tokenizer"] = {"type": "Whitespace"}
    (folder / "tokenizer.json").write_text(json.dumps(tokenizer))
    with pytest.raises(ExportError, match=r"pre-tokenizer .*Whitespace.* is not one llama\.cpp"):
        export(folder, tmp_path / "tiny.gguf")
