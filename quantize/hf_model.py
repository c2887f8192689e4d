"""A Hugging Face model folder as the exporter reads it: `config.json` parsed once into a
typed config, and safetensors weights read one tensor at a time, so a 7B model never has to
fit in memory twice."""

import json
from collections.abc import Iterator
from contextlib import ExitStack
from pathlib import Path
from typing import Any

import numpy as np
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from quantize.errors import ExportError
from schemas.errors import validation_problem

CONFIG_FILE = "config.json"


class HFConfig(BaseModel):
    """The fields of `config.json` a decoder-only transformer of the llama family needs."""

    model_config = ConfigDict(extra="ignore")

    architectures: list[str] = Field(min_length=1)
    hidden_size: int
    intermediate_size: int
    num_hidden_layers: int
    num_attention_heads: int
    num_key_value_heads: int | None = None
    head_dim: int | None = None
    max_position_embeddings: int
    rms_norm_eps: float
    vocab_size: int
    rope_theta: float | None = None
    rope_scaling: dict[str, Any] | None = None
    # transformers 5 folds rope_theta and rope_scaling into one dict
    rope_parameters: dict[str, Any] | None = None

    @property
    def architecture(self) -> str:
        return self.architectures[0]

    @property
    def n_kv_heads(self) -> int:
        return self.num_key_value_heads or self.num_attention_heads

    @property
    def head_size(self) -> int:
        return self.head_dim or self.hidden_size // self.num_attention_heads

    @property
    def rope(self) -> dict[str, Any]:
        """rope_theta, rope_type and the scaling parameters, whichever config style wrote them."""
        params = {**(self.rope_scaling or {}), **(self.rope_parameters or {})}
        params.setdefault("rope_theta", self.rope_theta or 10000.0)
        params.setdefault("rope_type", params.get("type") or "default")
        return params


def read_raw_config(folder: Path) -> dict[str, Any]:
    """config.json as a dict, or a one-line error saying why the folder is not a model."""
    if not folder.is_dir():
        raise ExportError(f"{folder} is not a folder")
    path = folder / CONFIG_FILE
    if not path.is_file():
        raise ExportError(f"{folder} is not a Hugging Face model folder (no {CONFIG_FILE})")
    try:
        raw = json.loads(path.read_text())
    except json.JSONDecodeError as e:
        raise ExportError(f"{path} is not valid JSON: {e}") from e
    if not isinstance(raw, dict) or not raw.get("architectures"):
        raise ExportError(f"{path} names no architecture (no 'architectures' list)")
    return raw


def parse_config(raw: dict[str, Any], folder: Path) -> HFConfig:
    try:
        return HFConfig.model_validate(raw)
    except ValidationError as e:
        raise ExportError(f"{folder / CONFIG_FILE}: {validation_problem(e)}") from e


class Weights:
    """The safetensors files of a folder, opened lazily; tensors come out as float32 numpy."""

    def __init__(self, folder: Path) -> None:
        self.files = sorted(folder.glob("*.safetensors"))
        if not self.files:
            found = "pytorch_model.bin" if any(folder.glob("pytorch_model*.bin")) else "none"
            raise ExportError(
                f"{folder} has no *.safetensors weights (found: {found}); "
                "save the model with save_pretrained(..., safe_serialization=True)"
            )
        self._stack = ExitStack()
        self._handles: dict[str, Any] = {}

    def __enter__(self) -> "Weights":
        from safetensors import safe_open

        for path in self.files:
            # framework "pt": numpy cannot hold bf16, the dtype most merged models are saved in
            handle = self._stack.enter_context(safe_open(str(path), framework="pt"))
            for name in handle.keys():  # noqa: SIM118 (a safetensors handle is not a dict)
                self._handles[name] = handle
        return self

    def __exit__(self, *exc: object) -> None:
        self._stack.close()

    def shapes(self) -> Iterator[tuple[str, tuple[int, ...]]]:
        for name, handle in self._handles.items():
            yield name, tuple(handle.get_slice(name).get_shape())

    def read(self, name: str) -> np.ndarray:
        return self._handles[name].get_tensor(name).float().numpy()
