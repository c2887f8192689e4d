"""A trained LoRA adapter (peft folder) as a GGUF adapter that llama.cpp applies at load.

The shipped planner of the bundled model is such a file: a few MB beside the 98 MB base it
was trained on, instead of a merged copy of the whole model. llama.cpp adds
`scale · B·A` to each adapted weight, with scale = alpha / rank, exactly peft's update. The
tensors are named after the weights they adapt (`blk.0.attn_q.weight.lora_a`), and the
rows of B for q and k are put in llama.cpp's rope layout, as the weights themselves are on
export (`quantize.architectures`).
"""

import json
from pathlib import Path
from typing import Any

import gguf
import numpy as np
from pydantic import BaseModel
from safetensors.numpy import load_file

from quantize.architectures import architecture_for, gguf_name, to_llama_cpp_layout
from quantize.errors import ExportError
from quantize.hf_model import parse_config, read_raw_config
from schemas.atomic import replacing

ADAPTER_CONFIG, ADAPTER_WEIGHTS = "adapter_config.json", "adapter_model.safetensors"
_PEFT_PREFIX = "base_model.model."


class LoraExportResult(BaseModel):
    path: Path
    architecture: str
    rank: int
    alpha: float
    tensors: int
    size_bytes: int


def export_lora(adapter: Path, out: Path, *, base: Path | None = None) -> LoraExportResult:
    """Write the adapter in `adapter` to the GGUF file `out` (f16). `base` is the Hugging
    Face folder it was trained on (default: the one peft recorded)."""
    settings = _adapter_settings(adapter)
    base = base or Path(settings["base_model_name_or_path"])
    raw = read_raw_config(base)
    config, arch = parse_config(raw, base), architecture_for(raw["architectures"][0])
    name_map = gguf.get_tensor_name_map(arch.gguf_arch, config.num_hidden_layers)
    tensors: dict[str, np.ndarray] = {}
    for name, data in sorted(load_file(str(adapter / ADAPTER_WEIGHTS)).items()):
        weight, part = _adapted_weight(name)
        target = gguf_name(name_map, weight, arch)
        if part == "b":  # B's rows are the weight's rows
            data = to_llama_cpp_layout(weight, data.astype(np.float32), config, arch)
        tensors[f"{target}.lora_{part}"] = data.astype(np.float16)
    with replacing(out) as partial:
        writer = gguf.GGUFWriter(partial, arch.name)
        writer.add_type(gguf.GGUFType.ADAPTER)
        writer.add_string(gguf.Keys.Adapter.TYPE, "lora")
        writer.add_float32(gguf.Keys.Adapter.LORA_ALPHA, float(settings["lora_alpha"]))
        for name, data in tensors.items():
            writer.add_tensor(name, data)
        writer.write_header_to_file()
        writer.write_kv_data_to_file()
        writer.write_tensors_to_file()
        writer.close()
    return LoraExportResult(
        path=out, architecture=arch.name, rank=int(settings["r"]),
        alpha=float(settings["lora_alpha"]), tensors=len(tensors), size_bytes=out.stat().st_size,
    )  # fmt: skip


def _adapter_settings(adapter: Path) -> dict[str, Any]:
    path = adapter / ADAPTER_CONFIG
    if not path.is_file() or not (adapter / ADAPTER_WEIGHTS).is_file():
        raise ExportError(
            f"{adapter} is not a LoRA adapter folder ({ADAPTER_CONFIG} and {ADAPTER_WEIGHTS})"
        )
    settings = json.loads(path.read_text())
    if settings.get("peft_type") != "LORA" or settings.get("modules_to_save"):
        raise ExportError(f"{adapter}: only plain LoRA adapters export to GGUF")
    return settings


def _adapted_weight(name: str) -> tuple[str, str]:
    """`base_model.model.model.layers.0.self_attn.q_proj.lora_A.weight` →
    (`model.layers.0.self_attn.q_proj.weight`, "a")."""
    for part in ("a", "b"):
        marker = f".lora_{part.upper()}.weight"
        if name.endswith(marker):
            return name.removeprefix(_PEFT_PREFIX).removesuffix(marker) + ".weight", part
    raise ExportError(f"unexpected tensor {name} in the adapter (not lora_A or lora_B)")
