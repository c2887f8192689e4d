"""A GGUF model running in process through llama-cpp-python.

The prompt comes from the model's own chat template; a schema becomes a GBNF grammar
(compiled once); the decode loop is a replaceable `Decoder` (see `models.decoding`).
Calls reuse the KV cache for the prompt prefix they share with an earlier call, the planner's
and each tool's kept apart (`models.prompt_cache`), so a planner's step n pays only for the
tokens that step added, tool calls in between or not; `Completion.cached_tokens` says how
many were reused, measured from the tokens llama.cpp actually evaluated.

Not thread-safe: a llama.cpp context serves one generation at a time.
"""

import codecs
import os
import time
from collections.abc import Iterator, Sequence
from functools import cached_property
from pathlib import Path
from typing import Any

import llama_cpp
import psutil

from models.amx import avoid_amx
from models.chat_model import ChatModel, ModelError, Schema
from models.chat_template import ChatTemplate
from models.decoding import Decoder, Sampling, make_decoder
from models.gguf_info import check_gguf_file
from models.prompt_cache import KEEP, PromptCache
from models.structured import finish, grammar_for
from schemas.chat import Completion, Message, Timings


def physical_cores() -> int:
    """The cores this process may run on, one thread each. llama-cpp-python's own default
    (half the logical CPUs, for two hardware threads per core) leaves one core of a 2-core
    VM idle: the bundled planner then decodes 45 instead of 80 tokens/s with its adapter."""
    if hasattr(os, "sched_getaffinity"):
        usable = len(os.sched_getaffinity(0))
    else:  # macOS, Windows: no affinity to read
        usable = os.cpu_count() or 1
    return min(psutil.cpu_count(logical=False) or usable, usable)


class _CountingLlama(llama_cpp.Llama):
    """Counts the tokens llama.cpp evaluates: KV-cache reuse is then measured, not predicted."""

    evaluated: int = 0

    def eval(self, tokens: Sequence[int]) -> None:
        self.evaluated += len(tokens)
        super().eval(tokens)


class LlamaCppChatModel(ChatModel):
    def __init__(
        self,
        path: Path | str,
        *,
        name: str | None = None,
        n_ctx: int = 4096,
        n_threads: int | None = None,
        n_gpu_layers: int = 0,
        decoder: str | Decoder = "fast",
        flash_attn: bool = False,
        chat_template: str | None = None,
        keep_prefixes: int = KEEP,
        lora: Path | str | None = None,
    ) -> None:
        """`n_threads` (default: `physical_cores()`) serves prompt and generation alike;
        `n_gpu_layers=-1` offloads every layer (with a CUDA/Metal build of llama.cpp);
        `decoder` is "fast", "exact" or "plain" (see `models.decoding`); `flash_attn`
        changes what a forward pass costs (on a CPU, 5-35% more per token: see
        bench/constrained_decode.py); `keep_prefixes` is how many prompt prefixes besides
        the live one stay cached for later calls (`models.prompt_cache`; 0: only the live);
        `chat_template` overrides the Jinja template stored in the GGUF; `lora` is a GGUF
        LoRA adapter llama.cpp applies to the weights (a planner shipped as a few MB beside
        its base). The weights load on first use (or `load()`); the files are checked now."""
        self.path = Path(path).expanduser()
        check_gguf_file(self.path)
        self.lora = Path(lora).expanduser() if lora is not None else None
        if self.lora is not None:
            check_gguf_file(self.lora)
        self.name = name or self.path.stem
        self.n_ctx, self.n_threads, self.n_gpu_layers = n_ctx, n_threads, n_gpu_layers
        self.flash_attn = flash_attn
        self.keep_prefixes = keep_prefixes
        self.decoder = make_decoder(decoder) if isinstance(decoder, str) else decoder
        self._template_override = chat_template

    def __repr__(self) -> str:
        return f"LlamaCppChatModel({str(self.path)!r}, name={self.name!r})"

    def load(self) -> "LlamaCppChatModel":
        _ = self.template
        return self

    @cached_property
    def llm(self) -> _CountingLlama:
        avoid_amx()
        threads = self.n_threads or physical_cores()
        try:
            return _CountingLlama(
                str(self.path),
                n_ctx=self.n_ctx,
                n_threads=threads,
                n_threads_batch=threads,
                n_gpu_layers=self.n_gpu_layers,
                flash_attn=self.flash_attn,
                lora_path=str(self.lora) if self.lora else None,
                verbose=False,
            )
        except ValueError as e:
            raise ModelError(
                f"llama.cpp cannot load {self.path} (truncated, corrupt, or an architecture it "
                f"does not know): check it with `waypoint models info {self.path}`"
            ) from e

    @cached_property
    def prompt_cache(self) -> PromptCache:
        return PromptCache(self.llm, self.keep_prefixes)

    @cached_property
    def template(self) -> ChatTemplate:
        text = self._template_override or self.llm.metadata.get("tokenizer.chat_template")
        if not text:
            raise ModelError(
                f"{self.path} has no chat template in its metadata: pass chat_template=..."
            )
        return ChatTemplate(
            text,
            bos_token=self._token_text(self.llm.token_bos()),
            eos_token=self._token_text(self.llm.token_eos()),
            model=self.name,
        )

    @cached_property
    def _vocab(self) -> llama_cpp.llama_vocab_p:
        return llama_cpp.llama_model_get_vocab(self.llm.model)

    def _token_text(self, token: int) -> str:
        return (
            self.llm.detokenize([token], special=True).decode(errors="replace")
            if token >= 0
            else ""
        )

    # -- the ChatModel contract ---------------------------------------------------------

    def complete(
        self,
        messages: Sequence[Message],
        *,
        schema: Schema | None = None,
        grammar: str | None = None,
        max_tokens: int = 512,
        temperature: float = 0.0,
        top_p: float = 1.0,
        seed: int | None = None,
        stop: Sequence[str] | None = None,
    ) -> Completion:
        run = self._run(
            messages,
            schema=schema,
            grammar=grammar,
            max_tokens=max_tokens,
            temperature=temperature,
            top_p=top_p,
            seed=seed,
            stop=stop,
        )
        for _ in run:
            pass
        return run.result()

    def stream(self, messages: Sequence[Message], **kwargs: Any) -> Iterator[str]:
        """Text as it is generated (same arguments as `complete`); with a schema, a cut-off
        or invalid result raises CompletionError once the text has been yielded."""
        run = self._run(messages, **kwargs)
        yield from run
        run.result()

    def _run(
        self,
        messages: Sequence[Message],
        *,
        schema: Schema | None = None,
        grammar: str | None = None,
        max_tokens: int = 512,
        temperature: float = 0.0,
        top_p: float = 1.0,
        seed: int | None = None,
        stop: Sequence[str] | None = None,
    ) -> "_Run":
        if schema is not None and grammar is not None:
            raise ValueError("pass a schema or a grammar, not both")
        if max_tokens < 1:
            raise ValueError(f"max_tokens must be at least 1, got {max_tokens}")
        prompt = self.llm.tokenize(
            self.template.render(messages).encode(), add_bos=False, special=True
        )
        room = self.llm.n_ctx() - len(prompt)
        if room < 1:
            raise ModelError(
                f"a prompt of {len(prompt)} tokens does not fit the context window of {self.name} "
                f"(n_ctx={self.llm.n_ctx()}): raise n_ctx or shorten the prompt"
            )
        return _Run(
            self,
            prompt,
            schema=schema,
            gbnf=grammar_for(schema, strict=self.strict_schemas) if schema is not None else grammar,
            sampling=Sampling(temperature, top_p, seed),
            max_tokens=max_tokens,
            limit=min(max_tokens, room),
            stop=list(stop or []),
        )


class _Run:
    """One generation. Iterating yields text once it is final (a possible start of a stop
    string is held back); afterwards `completion` holds the result and its counts."""

    def __init__(
        self,
        model: LlamaCppChatModel,
        prompt: list[int],
        *,
        schema: Schema | None,
        gbnf: str | None,
        sampling: Sampling,
        max_tokens: int,
        limit: int,
        stop: list[str],
    ) -> None:
        self.model, self.prompt, self.gbnf, self.sampling = model, prompt, gbnf, sampling
        self.schema, self.max_tokens, self.limit, self.stop = schema, max_tokens, limit, stop
        self.completion = Completion(text="", model=model.name, prompt_tokens=len(prompt))

    def result(self) -> Completion:
        """The completion, validated against the schema (after iterating)."""
        return finish(self.completion, self.schema, self.max_tokens)

    def __iter__(self) -> Iterator[str]:
        llm, text = self.model.llm, _Text(self.stop)
        n_tokens, cached, finish_reason = 0, 0, "length"
        evaluated, start = llm.evaluated, time.perf_counter()
        first = start
        self.model.prompt_cache.prepare(self.prompt)
        tokens = self.model.decoder.tokens(
            llm, self.prompt, self.gbnf, self.sampling, budget=self.limit
        )
        try:
            while True:
                try:
                    token = next(tokens)
                except StopIteration as end:
                    # The decoder ended: its grammar was complete, closed early to fit
                    # the budget ("length") or not.
                    finish_reason = end.value or "stop"
                    break
                if n_tokens == 0:
                    first = time.perf_counter()
                    cached = len(self.prompt) - (llm.evaluated - evaluated)
                if llama_cpp.llama_vocab_is_eog(self.model._vocab, token):
                    finish_reason = "stop"
                    break
                n_tokens += 1
                piece = text.add(llm.detokenize([token]))
                if text.stopped:
                    finish_reason = "stop"
                    break
                if piece:
                    yield piece
                if n_tokens >= self.limit:
                    break
        finally:
            tokens.close()
        end = time.perf_counter()
        if rest := text.rest():
            yield rest
        timings = Timings(prompt_ms=(first - start) * 1000, decode_ms=(end - first) * 1000)
        self.completion = self.completion.model_copy(
            update={
                "text": text.text,
                "cached_tokens": cached,
                "completion_tokens": n_tokens,
                "finish_reason": finish_reason,
                "timings": timings,
            }
        )


class _Text:
    """The text decoded so far, and how much of it is final: the tail that could be the
    start of a stop string is held back until the next token settles it."""

    def __init__(self, stop: list[str]) -> None:
        self.stop, self.hold = stop, max((len(s) for s in stop), default=1) - 1
        self.text, self.sent, self.stopped = "", 0, False
        self._utf8 = codecs.getincrementaldecoder("utf-8")(errors="replace")

    def add(self, piece: bytes) -> str:
        """Append a token's bytes; the text that became final (maybe none)."""
        self.text += self._utf8.decode(piece)
        cut = _find_stop(self.text, self.stop, self.sent)
        if cut is not None:
            self.text, self.stopped = self.text[:cut], True
            return ""
        return self._release(len(self.text) - self.hold)

    def rest(self) -> str:
        """Everything not yet released (the end of the generation)."""
        if not self.stopped:
            self.text += self._utf8.decode(b"", final=True)
        return self._release(len(self.text))

    def _release(self, end: int) -> str:
        if end <= self.sent:
            return ""
        piece, self.sent = self.text[self.sent : end], end
        return piece


def _find_stop(text: str, stops: list[str], start: int) -> int | None:
    """Where the earliest stop string begins, searching from `start`."""
    found = [i for i in (text.find(s, start) for s in stops) if i >= 0]
    return min(found) if found else None
