"""Trajectories per minute with 1 and with N workers against one OpenAI-compatible server:
the llm world's simulation (teacher planner and simulated tools on the server), as
`waypoint simulate trajectories --workers N` runs it.

By default the bench starts llama-cpp-python's own server on 127.0.0.1 with the bundled
model. That server answers one request at a time (it has no parallel slots), so there the
ratio shows what the workers overlap on the client's side only; point `--url` at a server
with slots (llama.cpp's `llama-server -np 4`, vLLM) to see them used. The last line printed
is JSON; `ratio` is N workers' trajectories per minute over one worker's (higher is better).

    python bench/workers.py                              # 1 and 4 workers, bundled model
    python bench/workers.py --url http://127.0.0.1:8080/v1 --model any --workers 8
"""

import argparse
import json
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from finetune.simulation import make_agent
from finetune.trajectories import generate_trajectories
from models.bundled import bundled_model_path
from models.openai_compat import OpenAIChatModel
from schemas.request import Request

ASKED = [
    "What is 17 times 23?",
    "Who wrote the novel Middlemarch?",
    "E-mail Ana that the meeting moves to Friday.",
    "How far is Oslo from Bergen?",
    "Add a dentist appointment on Tuesday at 9.",
    "What is the capital of Australia?",
    "Convert 100 Fahrenheit to Celsius.",
    "Who painted the ceiling of the Sistine Chapel?",
]


def serve(threads: int) -> tuple[subprocess.Popen, str]:
    """llama-cpp-python's server with the bundled model, once it answers."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    args = ["--model", str(bundled_model_path()), "--host", "127.0.0.1", "--port", str(port),
            "--n_threads", str(threads), "--n_ctx", "2048", "--verbose", "False"]  # fmt: skip
    server = subprocess.Popen(
        [sys.executable, "-m", "models.llamacpp_server", *args],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip
    url = f"http://127.0.0.1:{port}/v1"
    deadline = time.monotonic() + 300
    while time.monotonic() < deadline and server.poll() is None:
        try:
            if httpx.get(f"{url}/models", timeout=2).status_code == 200:
                return server, url
        except httpx.HTTPError:
            time.sleep(0.5)
    server.kill()
    raise SystemExit("the llama.cpp server did not start")


def per_minute(teacher: OpenAIChatModel, requests: list[Request], workers: int, steps: int) -> dict:
    agent, meta = make_agent("llm", requests, teacher, max_steps=steps, seed=1)
    with tempfile.TemporaryDirectory() as folder:
        started = time.perf_counter()
        summary = generate_trajectories(
            requests, agent, Path(folder) / "t.jsonl", meta, workers=workers, show_progress=False
        )
        seconds = time.perf_counter() - started
    return {
        "workers": workers,
        "trajectories": summary.written,
        "faults": summary.faults,
        "seconds": round(seconds, 1),
        "per_minute": round(60 * summary.written / seconds, 2),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--url", help="an OpenAI-compatible server (default: start one)")
    parser.add_argument("--model", default="smollm2-135m", help="the model name it serves")
    parser.add_argument("--grammar-mode", default="gbnf")
    parser.add_argument("--workers", type=int, default=4)
    parser.add_argument("--requests", type=int, default=8)
    parser.add_argument("--max-steps", type=int, default=2)
    parser.add_argument("--threads", type=int, default=2, help="the started server's threads")
    args = parser.parse_args()
    server, url = (None, args.url) if args.url else serve(args.threads)
    try:
        teacher = OpenAIChatModel(url, args.model, grammar_mode=args.grammar_mode)
        texts = (ASKED * (args.requests // len(ASKED) + 1))[: args.requests]
        requests = [Request(id=f"b{i}", text=t) for i, t in enumerate(texts)]
        one = per_minute(teacher, requests, 1, args.max_steps)
        many = per_minute(teacher, requests, args.workers, args.max_steps)
    finally:
        if server is not None:
            server.terminate()
            server.wait(timeout=30)
    ratio = round(many["per_minute"] / max(one["per_minute"], 1e-9), 2)
    where = url if args.url else "llama-cpp-python"
    print(json.dumps({"bench": "workers", "server": where, "one": one, "many": many,
                      "ratio": ratio}))  # fmt: skip


if __name__ == "__main__":
    main()
