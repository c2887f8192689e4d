"""What can go wrong with user input to export, quantize and verify: one line each, exit 2."""

from schemas.errors import WaypointError


class ExportError(WaypointError):
    """The folder is not a model we can convert: no config, no weights, an architecture or
    tokenizer we do not support."""


class QuantizeError(WaypointError):
    """An unknown quantization type, an unreadable GGUF, or llama.cpp refusing the file."""


class VerifyError(WaypointError):
    """A verification that cannot run: missing prompts, or files the reference cannot judge."""
