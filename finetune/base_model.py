"""The base model a fine-tune starts from, and the precision it trains in.

A base is a Hugging Face id, a local HF folder, a GGUF file or the bundled model. A GGUF
file is dequantized by transformers once (≈16 s for the bundled 135M model) and saved as a
safetensors folder in the cache, so every later run loads it in about a second.
"""

import hashlib
import os
import shutil
from functools import cache
from pathlib import Path
from typing import TYPE_CHECKING, Literal

from pydantic import BaseModel

from finetune.config import Precision
from models.bundled import BUNDLED_NAME, bundled_model_path
from schemas.errors import WaypointError

if TYPE_CHECKING:
    from transformers import PreTrainedModel, PreTrainedTokenizerBase


class BaseModelError(WaypointError):
    """A base model could not be found or loaded."""


def cache_root() -> Path:
    return Path(os.environ.get("WAYPOINT_CACHE", "~/.cache/waypoint")).expanduser()


def resolve_base(spec: str, cache_dir: Path | None = None) -> str:
    """What transformers should load: a local HF folder, or a hub id (offline: from the HF
    cache only). A GGUF file becomes its dequantized folder in `cache_dir`."""
    if spec == BUNDLED_NAME:
        return str(dequantized(bundled_model_path(), cache_dir))
    path = Path(spec).expanduser()
    if path.suffix == ".gguf":
        if not path.is_file():
            raise BaseModelError(f"no such GGUF file: {spec}")
        return str(dequantized(path, cache_dir))
    if path.is_dir():
        if not (path / "config.json").is_file():
            raise BaseModelError(f"{spec} is not a Hugging Face model folder (no config.json)")
        return str(path)
    if path.exists() or spec.startswith((".", "/", "~")) or spec.count("/") > 1:
        raise BaseModelError(f"base model {spec!r}: not a folder, a .gguf file or a hub id")
    return spec


def dequantized(gguf: Path, cache_dir: Path | None = None) -> Path:
    """The safetensors folder for `gguf`, made on first use. The folder is written under a
    temporary name and renamed, so a crash or a concurrent run never leaves half a model."""
    gguf = gguf.resolve()
    stat = gguf.stat()
    key = hashlib.sha1(f"{gguf}:{stat.st_size}:{stat.st_mtime_ns}".encode()).hexdigest()[:12]
    folder = (cache_dir or cache_root() / "bases") / f"{gguf.stem}-{key}"
    if folder.is_dir():
        return folder
    from transformers import AutoModelForCausalLM, AutoTokenizer, GgufConfig

    tmp = folder.with_name(f"{folder.name}.tmp{os.getpid()}")
    try:
        tokenizer = AutoTokenizer.from_pretrained(gguf.parent, gguf_file=gguf.name)
        # Without dequantize=True the model keeps a GGUF quantizer that Trainer refuses.
        model = AutoModelForCausalLM.from_pretrained(
            gguf.parent, gguf_file=gguf.name, quantization_config=GgufConfig(dequantize=True)
        )
        model.save_pretrained(tmp)
        tokenizer.save_pretrained(tmp)
        tmp.rename(folder)
    except OSError as e:
        if folder.is_dir():  # another process finished the same conversion first
            return folder
        raise BaseModelError(f"cannot dequantize {gguf}: {e}") from e
    except ValueError as e:  # transformers' answer to an architecture it cannot read
        raise BaseModelError(f"transformers cannot load {gguf.name}: {e}") from e
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return folder


class Hardware(BaseModel):
    """Where and how a run trains, decided once at start and announced in one line."""

    device: Literal["cuda", "cpu"]
    precision: Literal["4bit", "bf16", "fp32"]
    compute_dtype: Literal["bfloat16", "float16", "float32"]
    gradient_checkpointing: bool

    @property
    def mixed_precision(self) -> Literal["bf16", "fp16", "no"]:
        """Autocast on CUDA; a CPU computes in its weights' own dtype."""
        if self.device != "cuda":
            return "no"
        return {"bfloat16": "bf16", "float16": "fp16", "float32": "no"}[self.compute_dtype]

    def describe(self) -> str:
        method = {
            "4bit": "QLoRA (nf4, double quantization)",
            "bf16": "LoRA on bf16 weights",
            "fp32": "LoRA on fp32 weights",
        }[self.precision]
        checkpointing = "on" if self.gradient_checkpointing else "off"
        return (
            f"training on {self.device}: {method}, {self.compute_dtype} compute, "
            f"gradient checkpointing {checkpointing}"
        )


def choose_hardware(precision: Precision, gradient_checkpointing: bool | None) -> Hardware:
    """auto: QLoRA on CUDA (the seed's recipe). On a CPU, LoRA on bf16 weights where this
    CPU multiplies bf16 clearly faster (AVX512-BF16, AMX), else on fp32 weights; bitsandbytes'
    4-bit path trains slower than either there (measured 16–18 vs 12–16 s/step). bf16 weights
    rather than bf16 autocast over fp32 ones, because autocast casts every weight at every
    use: 1.35× its tokens/s, and 1.2× fp32 weights' (bench/train_speed.py), on two AMD EPYC
    cores. The adapter itself stays fp32 (peft)."""
    import torch

    cuda = torch.cuda.is_available()
    if precision == "auto":
        precision = "4bit" if cuda else "bf16" if cpu_bf16_pays() else "fp32"
    if precision == "fp32":
        compute = "float32"
    elif cuda and not torch.cuda.is_bf16_supported():
        compute = "float16"  # pre-Ampere GPUs have no bf16
    else:
        compute = "bfloat16"
    return Hardware(
        device="cuda" if cuda else "cpu",
        precision=precision,
        compute_dtype=compute,
        # CPU RAM holds a small model's activations easily; checkpointing would cost ≈25%.
        gradient_checkpointing=cuda if gradient_checkpointing is None else gradient_checkpointing,
    )


_BF16_PAYS_BELOW = 0.7  # bf16 matmul time / fp32's: emulated bf16 is no faster


@cache
def cpu_bf16_pays() -> bool:
    """Whether bf16 matmuls of a small model's size beat fp32 ones on this CPU, measured
    (a CPU without native bf16 emulates it, slower than fp32)."""
    import time

    import torch

    def seconds(dtype: "torch.dtype") -> float:
        a, b = torch.randn(512, 576, dtype=dtype), torch.randn(576, 1536, dtype=dtype)
        a @ b  # warm-up: oneDNN picks its kernel on the first call
        start = time.perf_counter()
        for _ in range(20):
            a @ b
        return time.perf_counter() - start

    return seconds(torch.bfloat16) < _BF16_PAYS_BELOW * seconds(torch.float32)


def load_tokenizer(source: str) -> "PreTrainedTokenizerBase":
    from transformers import AutoTokenizer

    try:
        tokenizer = AutoTokenizer.from_pretrained(source)
    except OSError as e:
        raise BaseModelError(_not_found(source, e)) from e
    if tokenizer.chat_template is None:
        raise BaseModelError(f"{source} has no chat template; the planner's prompts need one")
    if tokenizer.pad_token is None:
        tokenizer.pad_token = tokenizer.eos_token
    return tokenizer


def load_for_training(
    source: str, hardware: Hardware, *, packed: bool = False
) -> "PreTrainedModel":
    """The base model, frozen and ready for LoRA adapters in the chosen precision; `packed`:
    attention example by example in packed rows (several examples each)."""
    import torch
    from transformers import AutoModelForCausalLM

    from finetune import packed_attention

    dtype = getattr(torch, hardware.compute_dtype)
    # Under FSDP each process loads on CPU and FSDP places the shards; DDP (or one GPU) puts
    # the whole 4-bit model on the process's own GPU.
    fsdp = os.environ.get("ACCELERATE_USE_FSDP", "").lower() == "true"
    kwargs: dict = {"dtype": dtype}
    if packed:
        packed_attention.register()
        kwargs["attn_implementation"] = packed_attention.NAME
    if hardware.precision == "4bit":
        kwargs["quantization_config"] = _nf4_config(dtype)
        if hardware.device == "cuda" and not fsdp:
            from accelerate import PartialState

            kwargs["device_map"] = {"": PartialState().local_process_index}
    try:
        model = AutoModelForCausalLM.from_pretrained(source, **kwargs)
    except OSError as e:
        raise BaseModelError(_not_found(source, e)) from e
    # Training never reads a KV cache, and with one transformers builds no per-example
    # attention mask for packed rows: every example would attend to the ones before it.
    model.config.use_cache = False
    if hardware.precision == "4bit" and not fsdp:
        from peft import prepare_model_for_kbit_training

        # Norms and embeddings in fp32 for stable QLoRA; FSDP needs one dtype, so not there.
        model = prepare_model_for_kbit_training(
            model,
            use_gradient_checkpointing=hardware.gradient_checkpointing,
            gradient_checkpointing_kwargs={"use_reentrant": False},
        )
    if hardware.precision == "4bit" and hardware.device == "cpu":
        _keep_4bit_trainable_on_cpu(model)
    return model


def _nf4_config(compute_dtype: object) -> object:
    from transformers import BitsAndBytesConfig

    return BitsAndBytesConfig(
        load_in_4bit=True,
        bnb_4bit_quant_type="nf4",
        bnb_4bit_use_double_quant=True,
        bnb_4bit_compute_dtype=compute_dtype,
        # Stored in the compute dtype so FSDP can shard the 4-bit weights like any others.
        bnb_4bit_quant_storage=compute_dtype,
    )


def _keep_4bit_trainable_on_cpu(model: "PreTrainedModel") -> None:
    """bitsandbytes repacks 4-bit weights for fast CPU inference on the first forward pass
    in eval mode without gradients (our validation loop), and from then on every training
    step gets zero gradients. Turning that repacking off keeps evaluation harmless."""
    from bitsandbytes.nn import Linear4bit

    for module in model.modules():
        if isinstance(module, Linear4bit):
            module.support_avx512bf16_for_cpu = False


def _not_found(source: str, error: OSError) -> str:
    offline = " (HF_HUB_OFFLINE is set: only the local cache is searched)"
    hint = offline if os.environ.get("HF_HUB_OFFLINE") == "1" else ""
    return f"cannot load base model {source!r}{hint}: {str(error).splitlines()[0]}"
