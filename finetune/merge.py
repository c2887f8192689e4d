"""Fold a trained LoRA adapter into its base model: a plain Hugging Face folder (weights,
config, tokenizer and chat template) that the GGUF export reads like any other model.

The merge always happens in full precision, never into 4-bit weights: an adapter trained
with QLoRA is added to the base's own bf16/fp32 weights, as the QLoRA recipe does.
"""

import json
from pathlib import Path

from finetune.base_model import BaseModelError, resolve_base
from finetune.config import RUN_FILE, TrainConfig
from finetune.quiet import quiet_libraries
from schemas.errors import WaypointError

DTYPES = ("auto", "float32", "bfloat16", "float16")


class MergeError(WaypointError):
    """An adapter cannot be merged (not an adapter folder, output in the way)."""


def merge(adapter: Path, out: Path, *, base: str | None = None, dtype: str = "auto") -> Path:
    """Write base + adapter to `out` and return it. `base` defaults to the one the adapter
    was trained on; `dtype` "auto" keeps the base's own precision."""
    if dtype not in DTYPES:
        raise MergeError(f"dtype must be one of {', '.join(DTYPES)}, not {dtype!r}")
    if not (adapter / "adapter_config.json").is_file():
        raise MergeError(f"{adapter} is not a LoRA adapter folder (no adapter_config.json)")
    if out.exists() and any(out.iterdir()):
        raise MergeError(f"{out} is not empty; choose a new folder for the merged model")

    quiet_libraries()
    from peft import PeftModel
    from transformers import AutoModelForCausalLM, AutoTokenizer

    source = resolve_base(base or trained_base(adapter))
    try:
        model = AutoModelForCausalLM.from_pretrained(source, dtype=dtype)
    except OSError as e:
        raise BaseModelError(f"cannot load base model {source!r}: {e}") from e
    merged = PeftModel.from_pretrained(model, adapter).merge_and_unload()
    # The adapter folder carries the tokenizer the run trained with, chat template included.
    tokenizer = AutoTokenizer.from_pretrained(adapter)
    merged.save_pretrained(out)
    tokenizer.save_pretrained(out)
    return out


def trained_base(adapter: Path) -> str:
    """The base as the run named it (so a GGUF base is dequantized again if the cache was
    cleared); for an adapter made elsewhere, the path peft recorded."""
    run_file = adapter / RUN_FILE
    if run_file.is_file():
        return TrainConfig.model_validate_json(run_file.read_text()).base
    return json.loads((adapter / "adapter_config.json").read_text())["base_model_name_or_path"]
