"""A Hugging Face model folder (merged fine-tune) to one GGUF file that llama.cpp runs.

Written with the `gguf` package: hyperparameters and tokenizer first, then the tensors one
at a time (read, put in llama.cpp's layout, converted, written), so memory stays at one
tensor. The file appears under its final name only once complete.
"""

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

import gguf
import numpy as np
from pydantic import BaseModel

from quantize.architectures import (
    Architecture,
    architecture_for,
    extra_tensors,
    gguf_name,
    to_llama_cpp_layout,
    write_hparams,
)
from quantize.errors import ExportError
from quantize.hf_model import HFConfig, Weights, parse_config, read_raw_config
from quantize.vocab import write_vocab
from schemas.atomic import replacing

Dtype = Literal["f32", "f16", "bf16"]
DTYPES: dict[Dtype, tuple[gguf.GGMLQuantizationType, gguf.LlamaFileType]] = {
    "f32": (gguf.GGMLQuantizationType.F32, gguf.LlamaFileType.ALL_F32),
    "f16": (gguf.GGMLQuantizationType.F16, gguf.LlamaFileType.MOSTLY_F16),
    "bf16": (gguf.GGMLQuantizationType.BF16, gguf.LlamaFileType.MOSTLY_BF16),
}

OnTensor = Callable[[str, int, int], None]
"""Progress: (GGUF tensor name, tensors written, tensors in all)."""


class ExportResult(BaseModel):
    path: Path
    architecture: str
    dtype: Dtype
    tensors: int
    size_bytes: int


@dataclass(frozen=True)
class _Tensor:
    """One tensor of the output: where its data comes from and how it is stored."""

    name: str
    source: str | None  # the transformers name; None for a tensor computed at export
    shape: tuple[int, ...]
    qtype: gguf.GGMLQuantizationType


def export(
    model_dir: Path,
    out: Path,
    *,
    dtype: Dtype = "f16",
    name: str | None = None,
    on_tensor: OnTensor | None = None,
) -> ExportResult:
    """Convert `model_dir` (config.json, safetensors, tokenizer) to the GGUF file `out`."""
    if dtype not in DTYPES:
        raise ExportError(f"unknown dtype {dtype!r} (choose from {', '.join(DTYPES)})")
    raw = read_raw_config(model_dir)
    arch = architecture_for(raw["architectures"][0])
    config = parse_config(raw, model_dir)
    with Weights(model_dir) as weights, replacing(out) as partial:
        count = _write(partial, model_dir, config, arch, weights, dtype, name, on_tensor)
    return ExportResult(
        path=out, architecture=arch.name, dtype=dtype, tensors=count, size_bytes=out.stat().st_size
    )


def _write(
    path: Path,
    model_dir: Path,
    config: HFConfig,
    arch: Architecture,
    weights: Weights,
    dtype: Dtype,
    name: str | None,
    on_tensor: OnTensor | None,
) -> int:
    qtype, file_type = DTYPES[dtype]
    computed = extra_tensors(config)
    plan = _plan(weights, computed, config, arch, qtype)
    writer = gguf.GGUFWriter(path, arch.name)
    try:
        writer.add_type(gguf.GGUFType.MODEL)
        writer.add_name(name or model_dir.resolve().name)
        writer.add_file_type(file_type)
        writer.add_quantization_version(gguf.GGML_QUANT_VERSION)
        write_hparams(writer, config)
        write_vocab(writer, model_dir, config.vocab_size)
        _declare(writer, plan)
        for done, tensor in enumerate(plan, 1):
            if tensor.source is None:
                data = computed[tensor.name]
            else:
                data = to_llama_cpp_layout(tensor.source, weights.read(tensor.source), config, arch)
            writer.write_tensor_data(_stored(data, tensor.qtype))
            if on_tensor:
                on_tensor(tensor.name, done, len(plan))
    finally:
        writer.close()
    return len(plan)


def _declare(writer: gguf.GGUFWriter, plan: list[_Tensor]) -> None:
    """Header, key/values and the table of tensors: everything before the data."""
    for tensor in plan:
        # declared as raw bytes, the one form the writer accepts for every storage type
        block, size = gguf.GGML_QUANT_SIZES[tensor.qtype]
        byte_shape = gguf.quant_shape_to_byte_shape(tensor.shape, tensor.qtype)
        nbytes = int(np.prod(tensor.shape)) // block * size
        writer.add_tensor_info(tensor.name, byte_shape, np.dtype(np.uint8), nbytes, tensor.qtype)
    writer.write_header_to_file()
    writer.write_kv_data_to_file()
    writer.write_ti_data_to_file()


def _plan(
    weights: Weights,
    computed: dict[str, np.ndarray],
    config: HFConfig,
    arch: Architecture,
    qtype: gguf.GGMLQuantizationType,
) -> list[_Tensor]:
    name_map = gguf.get_tensor_name_map(arch.gguf_arch, config.num_hidden_layers)
    plan = [
        _Tensor(n, None, data.shape, _storage_type(data.shape, qtype))
        for n, data in computed.items()
    ]
    for source, shape in weights.shapes():
        target = gguf_name(name_map, source, arch)
        if target is not None:
            plan.append(_Tensor(target, source, shape, _storage_type(shape, qtype)))
    if not any(t.name == "token_embd.weight" for t in plan):
        raise ExportError("the weights have no token embedding (model.embed_tokens.weight)")
    return plan


def _storage_type(
    shape: tuple[int, ...], qtype: gguf.GGMLQuantizationType
) -> gguf.GGMLQuantizationType:
    # norms, biases and rope factors are tiny and precision-sensitive: llama.cpp keeps them f32
    return gguf.GGMLQuantizationType.F32 if len(shape) <= 1 else qtype


def _stored(data: np.ndarray, qtype: gguf.GGMLQuantizationType) -> np.ndarray:
    return gguf.quants.quantize(np.ascontiguousarray(data, dtype=np.float32), qtype)
