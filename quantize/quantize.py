"""Quantize a GGUF file with llama.cpp's own quantizer (`llama_model_quantize`).

llama.cpp reports per-tensor progress and its fallbacks (a tensor whose rows do not fit the
type's block size gets another type) only through its log; the log is captured while a file
is quantized, turned into progress, and kept off the terminal.
"""

import ctypes
import re
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path

import gguf
from pydantic import BaseModel

from models.gguf_info import check_gguf_file
from quantize.errors import QuantizeError
from schemas.atomic import replacing

# llama.cpp's file types by the names its own tools use (Q8_0, Q4_K_M, ...).
QUANT_TYPES: dict[str, int] = {
    name.removeprefix("MOSTLY_").removeprefix("ALL_"): int(value)
    for name, value in gguf.LlamaFileType.__members__.items()
    if name != "GUESSED"
}
_DTYPE_SUFFIX = re.compile(r"[.-](f32|f16|bf16)$", re.IGNORECASE)
_PROGRESS = re.compile(r"^\[\s*(\d+)/\s*(\d+)\]\s+(\S+)")
_FALLBACK = re.compile(r"falling back to")

OnTensor = Callable[[str, int, int], None]
"""Progress: (tensor name, tensors done, tensors in all)."""


class QuantizedFile(BaseModel):
    type: str
    path: Path
    size_bytes: int
    source_bytes: int
    fallbacks: int  # tensors stored in another type than the one asked for
    seconds: float


def parse_types(types: str | Sequence[str]) -> list[str]:
    """`"Q8_0,q4_k_m"` or a list → canonical names; an unknown one is an error naming it."""
    names = types.split(",") if isinstance(types, str) else list(types)
    canonical = [n.strip().upper() for n in names if n.strip()]
    if not canonical:
        raise QuantizeError("no quantization type given (e.g. --type Q8_0,Q4_K_M)")
    unknown = [n for n in canonical if n not in QUANT_TYPES]
    if unknown:
        raise QuantizeError(
            f"unknown quantization type {', '.join(unknown)} (known: {', '.join(QUANT_TYPES)})"
        )
    return canonical


def output_path(source: Path, qtype: str, out_dir: Path | None = None) -> Path:
    """planner.f16.gguf → planner.Q8_0.gguf, beside the source unless out_dir is given."""
    stem = _DTYPE_SUFFIX.sub("", source.stem)
    return (out_dir or source.parent) / f"{stem}.{qtype}.gguf"


def quantize(
    source: Path,
    types: str | Sequence[str],
    *,
    out_dir: Path | None = None,
    threads: int = 0,
    on_tensor: Callable[[str], OnTensor] | None = None,
) -> list[QuantizedFile]:
    """One quantized file per type. `on_tensor(type)` gives a progress callback per file;
    `threads` 0 lets llama.cpp use every core."""
    names = parse_types(types)
    check_gguf_file(source, QuantizeError)
    return [
        _quantize_one(
            source,
            name,
            output_path(source, name, out_dir),
            threads,
            on_tensor(name) if on_tensor else None,
        )
        for name in names
    ]


def _quantize_one(
    source: Path, name: str, out: Path, threads: int, on_tensor: OnTensor | None
) -> QuantizedFile:
    import llama_cpp

    params = llama_cpp.llama_model_quantize_default_params()
    params.ftype = QUANT_TYPES[name]
    params.nthread = threads
    log = _QuantizeLog(on_tensor)
    start = time.perf_counter()
    with replacing(out) as partial:
        with _llama_log_to(log.feed):
            status = llama_cpp.llama_model_quantize(
                str(source).encode(), str(partial).encode(), ctypes.byref(params)
            )
        if status != 0:
            raise QuantizeError(f"llama.cpp could not quantize {source} to {name}: {log.error()}")
    return QuantizedFile(
        type=name,
        path=out,
        size_bytes=out.stat().st_size,
        source_bytes=source.stat().st_size,
        fallbacks=log.fallbacks,
        seconds=time.perf_counter() - start,
    )


class _QuantizeLog:
    """Reads llama.cpp's quantization log: progress lines, fallbacks, the last error."""

    def __init__(self, on_tensor: OnTensor | None) -> None:
        self.on_tensor = on_tensor
        self.fallbacks = 0
        self.lines: list[str] = []
        self._pending = ""

    def feed(self, text: str) -> None:
        self._pending += text
        *complete, self._pending = self._pending.split("\n")
        for line in complete:
            self._line(line.strip())

    def _line(self, line: str) -> None:
        if not line:
            return
        self.lines.append(line)
        if _FALLBACK.search(line):
            self.fallbacks += 1
        if self.on_tensor and (m := _PROGRESS.match(line)):
            self.on_tensor(m.group(3), int(m.group(1)), int(m.group(2)))

    def error(self) -> str:
        for line in reversed(self.lines):
            if "failed to quantize:" in line:
                return line.split("failed to quantize:", 1)[1].strip()
        return self.lines[-1] if self.lines else "no reason given"


@contextmanager
def _llama_log_to(sink: Callable[[str], None]) -> Iterator[None]:
    """Send llama.cpp's log to `sink` for the duration, then give it back to llama-cpp-python."""
    import llama_cpp
    from llama_cpp import _logger

    @llama_cpp.llama_log_callback
    def callback(level: int, text: bytes, user_data: ctypes.c_void_p) -> None:
        sink(text.decode("utf-8", errors="replace"))

    llama_cpp.llama_log_set(callback, ctypes.c_void_p(0))
    try:
        yield
    finally:
        llama_cpp.llama_log_set(_logger.llama_log_callback, ctypes.c_void_p(0))
