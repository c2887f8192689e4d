"""What the exporter knows per model family: the GGUF architecture, the hyperparameter keys,
and how tensors differ between transformers' layout and llama.cpp's.

Adding a family is one entry in ARCHITECTURES when it shares the llama block layout
(attention + gated MLP + RMSNorm), which is what llama.cpp's llama and qwen2 graphs expect.
"""

import math
from dataclasses import dataclass

import gguf
import numpy as np

from quantize.errors import ExportError
from quantize.hf_model import HFConfig


@dataclass(frozen=True)
class Architecture:
    gguf_arch: gguf.MODEL_ARCH
    # transformers rotates q/k as two halves of each head; llama.cpp's llama graph rotates
    # adjacent pairs, so the rows of q/k are interleaved on export (qwen2 uses the halves).
    interleave_rope: bool

    @property
    def name(self) -> str:
        return gguf.MODEL_ARCH_NAMES[self.gguf_arch]


ARCHITECTURES: dict[str, Architecture] = {
    "LlamaForCausalLM": Architecture(gguf.MODEL_ARCH.LLAMA, interleave_rope=True),
    "MistralForCausalLM": Architecture(gguf.MODEL_ARCH.LLAMA, interleave_rope=True),
    "Qwen2ForCausalLM": Architecture(gguf.MODEL_ARCH.QWEN2, interleave_rope=False),
}

# Tensors transformers keeps for itself that have no GGUF counterpart.
_SKIPPED_SUFFIXES = ("rotary_emb.inv_freq",)


def architecture_for(name: str) -> Architecture:
    try:
        return ARCHITECTURES[name]
    except KeyError:
        known = ", ".join(ARCHITECTURES)
        raise ExportError(f"unsupported architecture {name} (supported: {known})") from None


def write_hparams(writer: gguf.GGUFWriter, config: HFConfig) -> None:
    writer.add_context_length(config.max_position_embeddings)
    writer.add_embedding_length(config.hidden_size)
    writer.add_feed_forward_length(config.intermediate_size)
    writer.add_block_count(config.num_hidden_layers)
    writer.add_head_count(config.num_attention_heads)
    writer.add_head_count_kv(config.n_kv_heads)
    writer.add_layer_norm_rms_eps(config.rms_norm_eps)
    writer.add_vocab_size(config.vocab_size)
    writer.add_rope_dimension_count(config.head_size)
    if config.head_size * config.num_attention_heads != config.hidden_size:
        writer.add_key_length(config.head_size)
        writer.add_value_length(config.head_size)
    rope = config.rope
    writer.add_rope_freq_base(float(rope["rope_theta"]))
    if rope["rope_type"] == "linear":
        writer.add_rope_scaling_type(gguf.RopeScalingType.LINEAR)
        writer.add_rope_scaling_factor(float(rope["factor"]))
    elif rope["rope_type"] not in ("default", "llama3"):  # llama3 travels as rope_freqs
        raise ExportError(f"rope scaling '{rope['rope_type']}' is not supported by the exporter")


def extra_tensors(config: HFConfig) -> dict[str, np.ndarray]:
    """Tensors llama.cpp needs that transformers computes on the fly."""
    if config.rope["rope_type"] != "llama3":
        return {}
    return {
        gguf.TENSOR_NAMES[gguf.MODEL_TENSOR.ROPE_FREQS] + ".weight": _llama3_rope_factors(config)
    }


def _llama3_rope_factors(config: HFConfig) -> np.ndarray:
    """llama.cpp divides each rotary frequency by a factor; Llama 3.1's scaling (as transformers
    computes it) lowers long wavelengths by `factor` and blends the middle band smoothly."""
    rope = config.rope
    dim = config.head_size
    inv_freq = 1.0 / (rope["rope_theta"] ** (np.arange(0, dim, 2, dtype=np.float64) / dim))
    factor, low, high = rope["factor"], rope["low_freq_factor"], rope["high_freq_factor"]
    old_context = rope["original_max_position_embeddings"]
    wavelen = 2 * math.pi / inv_freq
    smooth = (old_context / wavelen - low) / (high - low)
    scaled = np.where(wavelen > old_context / low, inv_freq / factor, inv_freq)
    medium = (wavelen >= old_context / high) & (wavelen <= old_context / low)
    scaled = np.where(medium, (1 - smooth) * inv_freq / factor + smooth * inv_freq, scaled)
    return (inv_freq / scaled).astype(np.float32)


def gguf_name(name_map: gguf.TensorNameMap, hf_name: str, arch: Architecture) -> str | None:
    """The GGUF name of a transformers tensor; None for tensors that are not exported."""
    if hf_name.endswith(_SKIPPED_SUFFIXES):
        return None
    mapped = name_map.get_name(hf_name, try_suffixes=(".weight", ".bias"))
    if mapped is None:
        raise ExportError(f"tensor {hf_name} has no GGUF name in the {arch.name} architecture")
    return mapped


def to_llama_cpp_layout(
    hf_name: str, data: np.ndarray, config: HFConfig, arch: Architecture
) -> np.ndarray:
    if not arch.interleave_rope:
        return data
    if ".q_proj." in hf_name:
        return _interleave(data, config.num_attention_heads)
    if ".k_proj." in hf_name:
        return _interleave(data, config.n_kv_heads)
    return data


def _interleave(weights: np.ndarray, n_heads: int) -> np.ndarray:
    """Rows of each head go from [first half | second half] to pairs (x0, x_half, x1, ...)."""
    shape = weights.shape
    per_head = shape[0] // n_heads
    return weights.reshape(n_heads, 2, per_head // 2, *shape[1:]).swapaxes(1, 2).reshape(shape)
