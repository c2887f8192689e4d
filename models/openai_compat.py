"""Any OpenAI-compatible chat endpoint: OpenAI, vLLM, Ollama, llama.cpp's servers.

How a schema reaches the server depends on what it understands (`grammar_mode`):
- `json_schema`: `response_format` of type json_schema, strict (OpenAI, vLLM, Ollama,
  llama.cpp's C++ server), the schema first rewritten into the strict subset
  (`models.strict_schema`); one that has no strict form goes as `json_object` with the
  schema in the instructions, and one line says so;
- `gbnf`: waypoint's own GBNF in a `grammar` field (llama.cpp's C++ server and
  llama-cpp-python's server); the only mode that also accepts a raw `grammar=`;
- `json_object`: `response_format` json_object with a `schema` (llama-cpp-python's server,
  which converts it with its own, older converter);
- `none`: the schema is not sent; the model is only asked.
Whatever the mode, the answer is validated here against the schema as given. Retries with
exponential backoff (and the server's Retry-After) on connection errors, timeouts, a
response cut off, 408/409/429 and 5xx come from the `openai` client; when they run out, the
error is a `ServerFault`, which callers keep apart from a model's bad answer.
"""

import json
import logging
import os
import re
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from functools import lru_cache
from typing import Any

import openai
from openai.types.chat import ChatCompletion

from models.chat_model import ChatModel, ModelError, Schema, ServerFault
from models.strict_schema import NotStrict, StrictSchema, strict_schema
from models.structured import (
    GrammarMode,
    check_schema,
    finish,
    grammar_for,
    json_schema,
    schema_name,
)
from schemas.chat import Completion, Message, Timings

log = logging.getLogger(__name__)

CHECK_TIMEOUT_S = 5.0  # `check`: a server on this machine or a provider answers well within it


class OpenAIChatModel(ChatModel):
    def __init__(
        self,
        base_url: str,
        model: str,
        *,
        api_key_env: str = "OPENAI_API_KEY",
        grammar_mode: GrammarMode = "json_schema",
        name: str | None = None,
        timeout: float = 300.0,
        max_retries: int = 3,
    ) -> None:
        self.base_url, self.model, self.grammar_mode = base_url, model, grammar_mode
        self.api_key_env = api_key_env
        self.name = name or model
        # Local servers ignore the key; a real endpoint answers 401, reported below.
        self._client = openai.OpenAI(
            base_url=base_url,
            api_key=os.environ.get(api_key_env) or "no-key",
            timeout=timeout,
            max_retries=max_retries,
        )

    def __repr__(self) -> str:
        mode = self.grammar_mode
        return f"OpenAIChatModel({self.base_url!r}, {self.model!r}, grammar_mode={mode!r})"

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
        request = self._request(
            messages,
            schema=schema,
            grammar=grammar,
            max_tokens=max_tokens,
            temperature=temperature,
            top_p=top_p,
            seed=seed,
            stop=stop,
        )
        start = time.perf_counter()
        with self._errors():
            response = self._client.chat.completions.create(**request)
        elapsed_ms = (time.perf_counter() - start) * 1000
        completion = self._restored(self._completion(response, elapsed_ms), schema)
        return finish(completion, schema, max_tokens)

    def stream(self, messages: Sequence[Message], **kwargs: Any) -> Iterator[str]:
        """Text as the server sends it (same arguments as `complete`); with a schema, a
        cut-off or invalid result raises CompletionError once the text has been yielded."""
        request = self._request(messages, **kwargs)
        parts: list[str] = []
        finish_reason = "stop"
        with self._errors(), self._client.chat.completions.create(**request, stream=True) as chunks:
            for chunk in chunks:
                if not chunk.choices:
                    continue
                choice = chunk.choices[0]
                if choice.delta.content:
                    parts.append(choice.delta.content)
                    yield choice.delta.content
                finish_reason = "length" if choice.finish_reason == "length" else finish_reason
        text = "".join(parts)
        completion = Completion(text=text, model=self.name, finish_reason=finish_reason)
        schema = kwargs.get("schema")
        finish(self._restored(completion, schema), schema, request["max_tokens"])

    def check(self) -> None:
        """One quick request: a server that is not there fails now, in one line. Any HTTP
        answer counts as there (not every server lists its models)."""
        try:
            self._client.with_options(max_retries=0, timeout=CHECK_TIMEOUT_S).models.list()
        except openai.APIStatusError:
            pass
        except openai.OpenAIError as e:
            raise ModelError(self._error_message(e)) from e

    # -- request and response -----------------------------------------------------------

    def _request(
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
    ) -> dict[str, Any]:
        if schema is not None and grammar is not None:
            raise ValueError("pass a schema or a grammar, not both")
        request: dict[str, Any] = {
            "model": self.model,
            "messages": [m.model_dump() for m in messages],
            "max_tokens": max_tokens,
            "temperature": temperature,
            "top_p": top_p,
        }
        if seed is not None:
            request["seed"] = seed
        if stop:
            request["stop"] = list(stop)
        if grammar is not None:
            if self.grammar_mode != "gbnf":
                raise ModelError(
                    f"{self.name} takes no raw grammar in grammar_mode={self.grammar_mode!r}; "
                    "pass a schema, or use grammar_mode='gbnf' with a llama.cpp server"
                )
            request["extra_body"] = {"grammar": grammar}
        elif schema is not None:
            check_schema(schema, strict=self.strict_schemas)  # the server's grammar may be ours
            request.update(self._schema_fields(schema))
            if self.grammar_mode == "json_schema" and strict_form(schema) is None:
                request["messages"] = _with_schema(request["messages"], schema)
        return request

    def _schema_fields(self, schema: Schema) -> dict[str, Any]:
        if self.grammar_mode == "json_schema":
            strict = strict_form(schema)
            if strict is None:
                return {"response_format": {"type": "json_object"}}
            name = re.sub(r"[^A-Za-z0-9_-]", "_", schema_name(schema))[:64]
            spec = {"name": name, "schema": strict.schema, "strict": True}
            return {"response_format": {"type": "json_schema", "json_schema": spec}}
        if self.grammar_mode == "gbnf":
            return {"extra_body": {"grammar": grammar_for(schema, strict=self.strict_schemas)}}
        if self.grammar_mode == "json_object":
            return {"response_format": {"type": "json_object", "schema": json_schema(schema)}}
        return {}

    def _restored(self, completion: Completion, schema: Schema | None) -> Completion:
        """An answer to a strict schema, put back into the schema as given."""
        strict = strict_form(schema) if schema and self.grammar_mode == "json_schema" else None
        if strict is None:
            return completion
        return completion.model_copy(update={"text": strict.restore(completion.text)})

    def _completion(self, response: ChatCompletion, elapsed_ms: float) -> Completion:
        if not response.choices:
            raise ModelError(f"{self.base_url} returned no choices for model {self.model}")
        choice, usage = response.choices[0], response.usage
        details = usage.prompt_tokens_details if usage else None
        return Completion(
            text=choice.message.content or "",
            model=self.name,
            prompt_tokens=usage.prompt_tokens if usage else 0,
            cached_tokens=(details.cached_tokens or 0) if details else 0,
            completion_tokens=usage.completion_tokens if usage else 0,
            finish_reason="length" if choice.finish_reason == "length" else "stop",
            timings=_timings(response, elapsed_ms),
        )

    @contextmanager
    def _errors(self) -> Iterator[None]:
        """The client's exceptions as one line naming the server and what to do."""
        try:
            yield
        except openai.OpenAIError as e:
            fault = isinstance(e, openai.APIConnectionError) or (
                isinstance(e, openai.APIStatusError) and _transient(e.status_code)
            )
            raise (ServerFault if fault else ModelError)(self._error_message(e)) from e

    def _error_message(self, error: openai.OpenAIError) -> str:
        where = f"{self.base_url} (model {self.model})"
        tries = f" ({self._client.max_retries + 1} tries)"
        if isinstance(error, openai.APITimeoutError):
            return f"{where} did not answer in time{tries}: raise the timeout"
        if isinstance(error, openai.APIConnectionError):
            cause = f": {error.__cause__}" if error.__cause__ else ""
            return (
                f"cannot reach {where}{tries}{cause}: start the server or fix base_url in the "
                "model registry"
            )
        if isinstance(error, openai.AuthenticationError):
            return f"{where} refused the API key: set ${self.api_key_env}"
        if isinstance(error, openai.NotFoundError):
            return f"{self.base_url} does not serve model {self.model!r}: check the model name"
        if isinstance(error, openai.APIStatusError):
            message = " ".join(str(error.message).split())[:300]
            hint = ""
            # llama-cpp-python answers 500 to a request body it cannot validate.
            if error.status_code in (400, 422, 500) and self.grammar_mode != "none":
                hint = f"; the server may not take grammar_mode={self.grammar_mode!r}"
            tried = tries if _transient(error.status_code) else ""
            return f"{where} answered {error.status_code}{tried}: {message}{hint}"
        return f"{where}: {error}"


def _transient(status: int) -> bool:
    """The statuses the client retries: the server's trouble, not the request's."""
    return status in (408, 409, 429) or status >= 500


def strict_form(schema: Schema) -> StrictSchema | None:
    """The strict form of a schema, or None (said once per schema) when it has none."""
    try:
        return strict_schema(schema)
    except NotStrict as e:
        _say_not_strict(schema_name(schema), str(e))
        return None


@lru_cache(maxsize=256)
def _say_not_strict(name: str, reason: str) -> None:
    log.warning("%s has no strict form (%s): sent as json_object, validated after", name, reason)


def _with_schema(messages: list[dict[str, Any]], schema: Schema) -> list[dict[str, Any]]:
    """The messages with the schema spelled out in the system message: json_object mode
    promises JSON, not this JSON (and OpenAI wants the word JSON in the messages)."""
    text = "Reply with one JSON object, an instance of this JSON Schema:\n" + json.dumps(
        json_schema(schema), ensure_ascii=False
    )
    if messages and messages[0]["role"] == "system":
        first = {**messages[0], "content": f"{messages[0]['content']}\n\n{text}"}
        return [first, *messages[1:]]
    return [{"role": "system", "content": text}, *messages]


def _timings(response: ChatCompletion, elapsed_ms: float) -> Timings:
    """llama.cpp's C++ server reports its own split; elsewhere only the whole round trip is
    known, and it is counted as decoding."""
    server = (response.model_extra or {}).get("timings") or {}
    if "prompt_ms" in server and "predicted_ms" in server:
        return Timings(prompt_ms=server["prompt_ms"], decode_ms=server["predicted_ms"])
    return Timings(decode_ms=elapsed_ms)
