"""LoRA adapters of one base model, chosen per call in one llama.cpp process.

The planner and the tool caller (AutoAct's division of labour: sub-agents as adapters of
one base) are separate GGUF LoRA adapters of the same base. llama.cpp holds the base
weights once and adds the active adapter's `scale · B·A` in each adapted matmul, so
choosing another adapter is a pointer change on the context (`llama_set_adapters_lora`),
not a reload, and a second adapter costs its own few MB, never a second copy of the base.

What a switch does cost is the KV cache: the keys and values in it were computed under the
previous adapter and are wrong under the next. So each adapter keeps its own prompt cache
(`models.prompt_cache`): at a switch, the live sequence is saved into the old adapter's
cache when it holds a prefix worth keeping, then dropped from the context; the next call
finds its own adapter's prefixes again (a planner step after a tool call restores the
planner's prefix instead of reading its prompt anew). bench/adapters.py measures memory
and switch cost.

`AdaptedChatModel` is the llama.cpp model with its adapters; `AdapterView` is a ChatModel
that runs one of them: hand the planner one view and the tools another.
"""

import ctypes
import time
from collections.abc import Iterator, Mapping, Sequence
from functools import cached_property
from pathlib import Path
from typing import Any

import llama_cpp

from models.chat_model import ChatModel, ModelError
from models.gguf_info import check_gguf_file
from models.llama_batch import BatchEvaluator
from models.llamacpp import LlamaCppChatModel
from models.prompt_cache import PromptCache
from schemas.chat import Completion, Message


class LoraAdapters:
    """The named adapters of one model, and which one the context applies now. `default`
    (the model's `lora`, or None for the bare base) serves calls that name no adapter."""

    def __init__(self, paths: Mapping[str, Path | str], default: Path | None = None) -> None:
        self.paths = {name: Path(path).expanduser() for name, path in paths.items()}
        self.default = default
        for path in [*self.paths.values(), *([default] if default else [])]:
            check_gguf_file(path)
        self._handles: dict[Path, llama_cpp.llama_adapter_lora_p] = {}
        self._caches: dict[Path | None, PromptCache] = {}
        self._applied: Path | None = None  # llama.cpp loads the bare base
        self.switches = 0
        self.switch_ms = 0.0  # applying adapters and saving the live prefix, in all

    @property
    def names(self) -> list[str]:
        return list(self.paths)

    def path(self, name: str | None) -> Path | None:
        if name is None:
            return self.default
        if name not in self.paths:
            known = ", ".join(self.paths) or "none"
            raise ModelError(f"no LoRA adapter named {name!r} on this model (adapters: {known})")
        return self.paths[name]

    def select(self, llm: llama_cpp.Llama, name: str | None, cache: PromptCache) -> PromptCache:
        """Apply adapter `name` to the context; the prompt cache of its prefixes. `cache` is
        the model's own, which serves the default adapter."""
        path = self.path(name)
        self._caches.setdefault(self.default, cache)
        wanted = self._caches.setdefault(path, PromptCache(llm, cache.keep))
        if path == self._applied:
            return wanted
        start = time.perf_counter()
        if (live := self._caches.get(self._applied)) is not None:
            # A prompt that shares nothing: the cache saves the live prefix, restores nothing.
            live.prepare([])
        BatchEvaluator(llm).truncate(0)
        self._apply(llm, path)
        self._applied = path
        self.switches += 1
        self.switch_ms += (time.perf_counter() - start) * 1000
        return wanted

    def _apply(self, llm: llama_cpp.Llama, path: Path | None) -> None:
        if path is None:
            failed = llama_cpp.llama_set_adapters_lora(llm.ctx, None, 0, None)
        else:
            handles = (llama_cpp.llama_adapter_lora_p_ctypes * 1)(self._handle(llm, path))
            scales = (ctypes.c_float * 1)(1.0)  # llama.cpp scales by the file's alpha / rank
            failed = llama_cpp.llama_set_adapters_lora(llm.ctx, handles, 1, scales)
        if failed:
            raise ModelError(f"llama.cpp could not apply the LoRA adapter {path}")

    def _handle(self, llm: llama_cpp.Llama, path: Path) -> llama_cpp.llama_adapter_lora_p:
        """The adapter's tensors, loaded once beside the base's (llama.cpp frees them with
        the model)."""
        if path not in self._handles:
            handle = llama_cpp.llama_adapter_lora_init(llm.model, str(path).encode())
            if not handle:
                raise ModelError(
                    f"llama.cpp cannot load the LoRA adapter {path}: not a GGUF LoRA, or one "
                    "trained on another base"
                )
            self._handles[path] = handle
        return self._handles[path]


class AdaptedChatModel(LlamaCppChatModel):
    """A GGUF model in process with LoRA adapters chosen per call: `lora` serves calls that
    name no adapter (None: the bare base), `adapters` are the others by name. The adapters'
    files are checked now and load beside the base on first use."""

    def __init__(
        self,
        path: Path | str,
        *,
        lora: Path | str | None = None,
        adapters: Mapping[str, Path | str] | None = None,
        **settings: Any,
    ) -> None:
        super().__init__(path, **settings)
        default = Path(lora).expanduser() if lora is not None else None
        self.adapters = LoraAdapters(adapters or {}, default=default)
        self._adapter: str | None = None  # the adapter of the call being run

    def with_adapter(self, adapter: str | None) -> "AdapterView":
        """This model running adapter `adapter` (None: the default), as a ChatModel."""
        return AdapterView(self, adapter)

    def complete(
        self, messages: Sequence[Message], *, adapter: str | None = None, **kwargs: Any
    ) -> Completion:
        self.adapters.path(adapter)
        self._adapter = adapter
        return super().complete(messages, **kwargs)

    def stream(
        self, messages: Sequence[Message], *, adapter: str | None = None, **kwargs: Any
    ) -> Iterator[str]:
        self.adapters.path(adapter)
        self._adapter = adapter  # runs when iteration starts, right before the call's own run
        yield from super().stream(messages, **kwargs)

    @property
    def prompt_cache(self) -> PromptCache:  # type: ignore[override]
        """The prompt cache of the adapter the current call runs. A run asks for it right
        before it reads its prompt, so this is where that adapter is applied."""
        return self.adapters.select(self.llm, self._adapter, self._default_cache)

    @cached_property
    def _default_cache(self) -> PromptCache:
        return PromptCache(self.llm, self.keep_prefixes)


class AdapterView(ChatModel):
    """One adapter of an AdaptedChatModel as a ChatModel of its own (same process, same
    base weights, same context)."""

    def __init__(self, model: AdaptedChatModel, adapter: str | None) -> None:
        model.adapters.path(adapter)  # an unknown name fails now
        self.model, self.adapter = model, adapter
        self.name = f"{model.name}+{adapter}" if adapter else model.name
        self.strict_schemas = model.strict_schemas

    def __repr__(self) -> str:
        return f"AdapterView({self.model!r}, adapter={self.adapter!r})"

    def complete(self, messages: Sequence[Message], **kwargs: Any) -> Completion:
        return self.model.complete(messages, adapter=self.adapter, **kwargs)

    def stream(self, messages: Sequence[Message], **kwargs: Any) -> Iterator[str]:
        return self.model.stream(messages, adapter=self.adapter, **kwargs)
