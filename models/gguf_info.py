"""What a GGUF file holds, read from its header with the `gguf` package (no weights loaded)."""

from collections import Counter
from pathlib import Path
from typing import Any

import gguf
import numpy as np
from pydantic import BaseModel

from models.chat_model import ModelError
from schemas.errors import WaypointError

GGUF_MAGIC = b"GGUF"


class GGUFInfo(BaseModel):
    path: Path
    size_bytes: int
    gguf_version: int
    name: str
    architecture: str
    parameters: int
    file_type: str
    context_length: int | None
    has_chat_template: bool
    tensor_count: int


def check_gguf_file(path: Path, error: type[WaypointError] = ModelError) -> None:
    """Cheap checks before llama.cpp sees a file: it exists and starts with the GGUF magic;
    `error` is the caller's own kind of error."""
    if not path.is_file():
        raise error(f"no such model file: {path}")
    with path.open("rb") as f:
        if f.read(4) != GGUF_MAGIC:
            raise error(f"{path} is not a GGUF file (it does not start with 'GGUF')")


class _Reader(gguf.GGUFReader):
    """GGUFReader over a plain ndarray view of its memory map: the reader slices the map once
    per token of the vocabulary, and numpy's memmap subclass makes each slice ~3x slower."""

    @property
    def data(self) -> np.ndarray:
        return self._plain

    @data.setter
    def data(self, value: np.memmap) -> None:
        self._plain = value.view(np.ndarray)


def read_gguf_info(path: Path | str) -> GGUFInfo:
    path = Path(path)
    check_gguf_file(path)
    try:
        reader = _Reader(path)
    except (ValueError, KeyError, IndexError, OverflowError) as e:
        raise ModelError(f"{path} is truncated or corrupt, the GGUF reader says: {e}") from e
    arch = str(_field(reader, gguf.Keys.General.ARCHITECTURE) or "unknown")
    context = _field(reader, gguf.Keys.LLM.CONTEXT_LENGTH.format(arch=arch))
    return GGUFInfo(
        path=path,
        size_bytes=path.stat().st_size,
        gguf_version=int(_field(reader, "GGUF.version")),
        name=str(_field(reader, gguf.Keys.General.NAME) or path.stem),
        architecture=arch,
        parameters=sum(int(t.n_elements) for t in reader.tensors),
        file_type=_file_type(reader),
        context_length=int(context) if context is not None else None,
        has_chat_template=_field(reader, gguf.Keys.Tokenizer.CHAT_TEMPLATE) is not None,
        tensor_count=len(reader.tensors),
    )


def _field(reader: gguf.GGUFReader, key: str) -> Any:
    field = reader.get_field(key)
    return field.contents() if field is not None else None


def file_type_name(declared: Any) -> str:
    """The name of a `general.file_type` value: Q4_K_M, Q8_0, F16, …"""
    try:
        return gguf.LlamaFileType(int(declared)).name.removeprefix("MOSTLY_").removeprefix("ALL_")
    except ValueError:
        return f"file type {declared}"


def _file_type(reader: gguf.GGUFReader) -> str:
    """The declared file type (Q4_K_M, Q8_0, …), else the commonest tensor type."""
    declared = _field(reader, gguf.Keys.General.FILE_TYPE)
    if declared is not None:
        return file_type_name(declared)
    counts = Counter(t.tensor_type.name for t in reader.tensors if len(t.shape) > 1)
    return counts.most_common(1)[0][0] if counts else "unknown"
