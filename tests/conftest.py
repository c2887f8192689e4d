"""Shared fixtures. Tests run offline on the bundled model; heavy objects are session-scoped."""

import os

import pytest

from schemas.plan import PlanRecord
from schemas.trajectory import Scratchpad, Step

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")


@pytest.fixture(scope="session")
def atlas_simulated():
    """120 atlas requests of world 31, the expert's trajectories and the atlas judge's
    ratings: (requests, trajectories, ratings by request id)."""
    from finetune.simulation import make_agent, make_judge
    from tools.atlas.requests import atlas_requests
    from tools.atlas.world import build_world

    requests = atlas_requests(build_world(31), 120)
    agent, meta = make_agent("atlas", requests)
    trajectories = [
        agent.run(r.text, request_id=r.id, meta=meta, history=r.history) for r in requests
    ]
    judge = make_judge("atlas")
    ratings = {t.request_id: judge.judge(r, t) for r, t in zip(requests, trajectories, strict=True)}
    return requests, trajectories, ratings


@pytest.fixture(scope="session")
def bundled_path():
    from models.bundled import bundled_model_path

    return bundled_model_path()


@pytest.fixture(scope="session")
def vocab(bundled_path):
    from models.matcher import Vocab

    return Vocab(bundled_path)


@pytest.fixture(scope="session")
def chat_model(bundled_path):
    """The bundled model in process, loaded once; one thread keeps a shared CPU usable."""
    from models.llamacpp import LlamaCppChatModel

    return LlamaCppChatModel(bundled_path, name="smollm2-135m", n_ctx=2048, n_threads=1).load()


@pytest.fixture(scope="session")
def llamacpp_server(bundled_path, tmp_path_factory):
    """llama-cpp-python's OpenAI-compatible server on loopback serving the bundled model,
    started once; yields its base URL (".../v1"). Use grammar_mode="gbnf" with it."""
    import socket
    import subprocess
    import sys

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    log = tmp_path_factory.mktemp("llamacpp_server") / "server.log"
    args = ["--model", str(bundled_path), "--host", "127.0.0.1", "--port", str(port)]
    args += ["--n_threads", "1", "--n_threads_batch", "1", "--n_ctx", "2048", "--verbose", "False"]
    with log.open("wb") as out:
        server = subprocess.Popen(
            [sys.executable, "-m", "models.llamacpp_server", *args], stdout=out, stderr=out
        )
    base_url = f"http://127.0.0.1:{port}/v1"
    try:
        _wait_until_serving(server, base_url, log)
        yield base_url
    finally:
        server.terminate()
        try:
            server.wait(timeout=15)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait()


def _wait_until_serving(server, base_url, log, timeout_s=120.0):
    import time

    import httpx

    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if server.poll() is not None:
            pytest.fail(f"the llama.cpp server exited: {log.read_text()[-2000:]}")
        try:
            if httpx.get(f"{base_url}/models", timeout=2).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.25)
    pytest.fail(f"the llama.cpp server did not start in {timeout_s} s: {log.read_text()[-2000:]}")


def interruptible() -> None:
    """`preexec_fn` for a child that a test Ctrl-C's: a job started in the background
    (`make test &`, some CI runners) inherits SIGINT ignored, and Python then never raises
    KeyboardInterrupt; restore the default (and unblock it, since a blocked signal stays
    blocked across exec) so the child sees the signal as a user would."""
    import signal

    signal.signal(signal.SIGINT, signal.SIG_DFL)
    signal.pthread_sigmask(signal.SIG_UNBLOCK, {signal.SIGINT})


class SignalsWhenFreed:
    """Sends SIGINT to this process from its finalizer: Python runs the handler there, and
    a KeyboardInterrupt raised in a finalizer is printed and ignored (simpleeval's
    `__del__` swallowed a Ctrl-C so, and the interrupted run finished with exit 0)."""

    def __del__(self) -> None:
        import os
        import signal

        os.kill(os.getpid(), signal.SIGINT)


def searched(task: str, observation: str) -> Scratchpad:
    plan = PlanRecord(context="", thoughts="", task=task, tool="search_wikipedia")
    return Scratchpad(steps=[Step(plan=plan, observation=observation)])
