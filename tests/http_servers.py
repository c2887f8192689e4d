"""Real HTTP servers on 127.0.0.1 for tests, in front of a real model server (the
`llamacpp_server` fixture): a provider that enforces strict structured outputs the way
OpenAI documents them, and a server that fails on purpose (5xx, 429, a response cut off,
one that never comes). What they let through reaches the model unchanged."""

import json
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import httpx

CHAT = "/v1/chat/completions"
FAST_RETRY = {"retry-after-ms": "20"}  # the client honours it: retries without the backoff

# OpenAI, "Structured Outputs: supported schemas": the keywords and string formats strict
# mode takes, the limits, and the object rules. Written out here from the guide, apart from
# the code under test (models/strict_schema.py), so that one checks the other.
DOCUMENTED_KEYWORDS = {
    "type", "description", "title", "enum", "const", "anyOf", "$ref", "$defs", "properties",
    "required", "additionalProperties", "items", "pattern", "format", "multipleOf", "maximum",
    "exclusiveMaximum", "minimum", "exclusiveMinimum", "minItems", "maxItems",
}  # fmt: skip
DOCUMENTED_FORMATS = {"date-time", "time", "date", "duration", "email", "hostname", "ipv4",
                      "ipv6", "uuid"}  # fmt: skip


def strict_refusal(schema: Any) -> str | None:
    """Why strict mode would refuse `schema` (None: it would take it)."""
    if not isinstance(schema, dict) or schema.get("type") != "object" or "anyOf" in schema:
        return "the root must be an object, not anyOf"
    defs = schema.get("$defs", {})
    problems: list[str] = []
    count = {"properties": 0}

    def walk(node: Any, path: str, depth: int) -> None:
        if not isinstance(node, dict):
            problems.append(f"{path}: not a schema object")
            return
        if depth > 10:
            problems.append(f"{path}: nested deeper than 10")
        if extra := set(node) - DOCUMENTED_KEYWORDS:
            problems.append(f"{path}: keyword {sorted(extra)[0]} is not permitted")
        if "format" in node and node["format"] not in DOCUMENTED_FORMATS:
            problems.append(f"{path}: format {node['format']} is not permitted")
        if "$ref" in node:
            if len(node) != 1 or not node["$ref"].startswith("#/$defs/"):
                problems.append(f"{path}: a $ref must stand alone and point into $defs")
            elif node["$ref"].removeprefix("#/$defs/") not in defs:
                problems.append(f"{path}: {node['$ref']} is not defined")
        types = node.get("type")
        if types == "object" or (isinstance(types, list) and "object" in types):
            properties = node.get("properties", {})
            count["properties"] += len(properties)
            if node.get("additionalProperties") is not False:
                problems.append(f"{path}: additionalProperties must be false")
            if set(node.get("required", [])) != set(properties):
                problems.append(f"{path}: every property must be required")
            for name, sub in properties.items():
                walk(sub, f"{path}/{name}", depth + 1)
        if "items" in node:
            walk(node["items"], f"{path}/items", depth + 1)
        for i, branch in enumerate(node.get("anyOf", [])):
            walk(branch, f"{path}/anyOf/{i}", depth)

    walk({k: v for k, v in schema.items() if k != "$defs"}, "(root)", 0)
    for name, definition in defs.items():
        walk(definition, f"$defs/{name}", 0)
    if count["properties"] > 5000:
        problems.append("more than 5000 properties")
    return problems[0] if problems else None


class Relay:
    """Forwards every request to the model server; a subclass decides otherwise."""

    def __init__(self, upstream: str) -> None:
        self.upstream = upstream.removesuffix("/v1")
        self.chat_requests: list[dict[str, Any]] = []
        self.lock = threading.Lock()
        self.in_flight = self.peak = 0  # chat requests being answered: now, and at most

    def respond(self, handler: "_Handler", method: str, body: bytes) -> None:
        if method != "POST" or handler.path != CHAT:
            return self.forward(handler, method, body)
        with self.lock:
            self.chat_requests.append(json.loads(body))
            self.in_flight += 1
            self.peak = max(self.peak, self.in_flight)
        try:
            self.chat(handler, json.loads(body))
        finally:
            with self.lock:
                self.in_flight -= 1

    def chat(self, handler: "_Handler", request: dict[str, Any]) -> None:
        self.forward(handler, "POST", json.dumps(request).encode())

    def forward(self, handler: "_Handler", method: str, body: bytes) -> None:
        reply = httpx.request(
            method,
            self.upstream + handler.path,
            content=body or None,
            headers={"content-type": "application/json"},
            timeout=300,
        )
        handler.reply(reply.status_code, reply.content)


class StrictProvider(Relay):
    """Takes `response_format` json_schema only when strict mode would (`strict_refusal`),
    answering 400 as OpenAI does otherwise; json_object only when the messages say JSON.
    What it takes goes on as json_object with the schema, which llama-cpp-python's server
    enforces, unless `answer` holds a canned reply for the tests of what comes back."""

    def __init__(self, upstream: str) -> None:
        super().__init__(upstream)
        self.answer: str | None = None

    def chat(self, handler: "_Handler", request: dict[str, Any]) -> None:
        form = request.get("response_format") or {}
        if form.get("type") == "json_schema":
            spec = form["json_schema"]
            refusal = "strict must be true" if not spec.get("strict") else None
            refusal = refusal or strict_refusal(spec.get("schema"))
            if refusal:
                message = f"Invalid schema for response_format '{spec.get('name')}': {refusal}"
                return handler.reply(400, _error(message))
            request["response_format"] = {"type": "json_object", "schema": spec["schema"]}
        elif form.get("type") == "json_object":
            if "json" not in json.dumps(request["messages"]).lower():
                return handler.reply(400, _error("'messages' must contain the word 'json'"))
            if set(form) != {"type"}:
                return handler.reply(400, _error("json_object takes no other field"))
        if self.answer is not None:
            return handler.reply(200, _completion(self.answer))
        self.forward(handler, "POST", json.dumps(request).encode())


class FaultyServer(Relay):
    """Chat requests meet `script` in order ("ok", "500", "503", "429", "400", "cut": the
    body stops half-way, "hang": no answer for `hang_s`), then `then`, forever."""

    def __init__(self, upstream: str, script: list[str], then: str = "ok") -> None:
        super().__init__(upstream)
        self.script, self.then, self.hang_s = list(script), then, 3.0

    def chat(self, handler: "_Handler", request: dict[str, Any]) -> None:
        with self.lock:
            behaviour = self.script.pop(0) if self.script else self.then
        if behaviour == "ok":
            return self.forward(handler, "POST", json.dumps(request).encode())
        if behaviour == "hang":
            time.sleep(self.hang_s)
            return handler.reply(504, _error("too late"))
        if behaviour == "cut":
            body = _completion('{"never": "finished"}')
            return handler.reply(200, body[: len(body) // 2], length=len(body))
        handler.reply(int(behaviour), _error(f"failing on purpose: {behaviour}"), FAST_RETRY)


class _Handler(BaseHTTPRequestHandler):
    relay: Relay

    def do_GET(self) -> None:
        self.relay.respond(self, "GET", b"")

    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers.get("content-length") or 0))
        self.relay.respond(self, "POST", body)

    def reply(
        self, status: int, body: bytes, headers: dict[str, str] | None = None, length: int = 0
    ) -> None:
        self.send_response(status)
        self.send_header("content-type", "application/json")
        self.send_header("content-length", str(length or len(body)))
        for name, value in (headers or {}).items():
            self.send_header(name, value)
        self.end_headers()
        self.wfile.write(body)
        self.close_connection = bool(length)  # a cut-off body: the connection drops

    def log_message(self, format: str, *args: Any) -> None:
        pass


@contextmanager
def serving(relay: Relay) -> Iterator[str]:
    """`relay` on a free port of 127.0.0.1 while the block runs; yields its ".../v1" URL."""
    handler = type("Handler", (_Handler,), {"relay": relay})
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/v1"
    finally:
        server.shutdown()
        server.server_close()


def _error(message: str) -> bytes:
    return json.dumps({"error": {"message": message, "type": "invalid_request_error"}}).encode()


def _completion(text: str) -> bytes:
    return json.dumps(
        {
            "id": "chatcmpl-test",
            "object": "chat.completion",
            "created": 0,
            "model": "test",
            "choices": [
                {
                    "index": 0,
                    "message": {"role": "assistant", "content": text},
                    "finish_reason": "stop",
                }
            ],
            "usage": {"prompt_tokens": 1, "completion_tokens": 1, "total_tokens": 2},
        }
    ).encode()
