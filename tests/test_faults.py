"""Faults are not data: a model server that fails on purpose (tests/http_servers.FaultyServer,
on 127.0.0.1 in front of llama-cpp-python's server with the bundled model). The client
retries 429/5xx, cut-off responses and timeouts; what is still failing after the retries is
a ServerFault, and simulation and evaluation record no result for it, count it, and run it
again next time. Also: `eval run --workers` keeps several runs in flight against HTTP."""

import os
import socket
import subprocess
import sys
from pathlib import Path

import pytest
from http_servers import FaultyServer, serving

from evals.errors import EvalError
from evals.runner import run_eval
from evals.store import EvalSettings, RunStore
from finetune.simulation import REQUESTS, TRAJECTORIES, make_agent
from finetune.trajectories import generate_trajectories
from models.chat_model import ModelError, ServerFault
from models.openai_compat import OpenAIChatModel
from schemas.chat import user
from schemas.records import read_records, write_records
from schemas.request import Request
from schemas.trajectory import Trajectory

WAYPOINT = str(Path(sys.executable).parent / "waypoint")
HI = [user("Say yes or no.")]
YES_NO = 'root ::= "yes" | "no"'


@pytest.fixture
def faulty(llamacpp_server):
    """A FaultyServer that lets everything through until a test gives it a script."""
    relay = FaultyServer(llamacpp_server, [])
    with serving(relay) as url:
        yield relay, url


def client(url: str, retries: int, timeout: float = 300.0) -> OpenAIChatModel:
    return OpenAIChatModel(url, "smollm2-135m", grammar_mode="gbnf", max_retries=retries,
                           timeout=timeout)  # fmt: skip


# -- the client: retried, then a ServerFault (not a model's error) -------------------------


def test_429_and_5xx_and_a_cut_off_response_are_retried_until_it_works(faulty):
    relay, url = faulty
    relay.script = ["500", "429", "cut", "503"]
    completion = client(url, retries=4).complete(HI, grammar=YES_NO, max_tokens=4)
    assert completion.text in ("yes", "no")
    assert len(relay.chat_requests) == 5  # four failures, then the answer


@pytest.mark.parametrize(
    ("behaviour", "said"),
    [("503", "answered 503 (2 tries)"), ("429", "answered 429 (2 tries)"),
     ("cut", "cannot reach"), ("hang", "did not answer in time (2 tries)")],
)  # fmt: skip
def test_a_fault_that_outlasts_the_retries_is_a_server_fault_in_one_line(faulty, behaviour, said):
    relay, url = faulty
    relay.then, relay.hang_s = behaviour, 2.0
    with pytest.raises(ServerFault) as caught:
        client(url, retries=1, timeout=0.5).complete(HI, grammar=YES_NO, max_tokens=4)
    assert said in str(caught.value) and "\n" not in str(caught.value)
    assert len(relay.chat_requests) == 2


def test_a_refused_request_is_not_retried_and_not_a_fault(faulty):
    relay, url = faulty
    relay.script = ["400"]
    with pytest.raises(ModelError) as caught:
        client(url, retries=3).complete(HI, grammar=YES_NO, max_tokens=4)
    assert not isinstance(caught.value, ServerFault) and "answered 400" in str(caught.value)
    assert len(relay.chat_requests) == 1


def test_an_unreachable_server_is_a_server_fault():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    with pytest.raises(ServerFault, match="cannot reach"):
        client(f"http://127.0.0.1:{port}/v1", retries=0).complete(HI, max_tokens=4)


# -- simulation: a fault leaves no trajectory, is counted, and runs again -----------------

TWO = [Request(id="r1", text="What is 12 times 9?"), Request(id="r2", text="Is Oslo in Norway?")]


def test_a_trajectory_cut_short_by_a_fault_is_no_record_and_is_run_again(faulty, tmp_path):
    relay, url = faulty
    relay.script = ["500", "500"]  # the first request's first call, and its one retry
    agent, meta = make_agent("llm", TWO, client(url, retries=1), max_steps=1)
    out = tmp_path / TRAJECTORIES
    first = generate_trajectories(TWO, agent, out, meta, show_progress=False)
    assert (first.written, first.faults, first.failed) == (1, 1, 0)
    assert [t.request_id for t in read_records(out, Trajectory)] == ["r2"]
    assert "answered 500" in first.problems[0]
    again = generate_trajectories(TWO, agent, out, meta, show_progress=False)
    assert (again.skipped, again.written, again.faults) == (1, 1, 0)
    assert sorted(t.request_id for t in read_records(out, Trajectory)) == ["r1", "r2"]


def registered(home: Path, url: str) -> str:
    """`faulty` in the user registry of `home`: the server, as any command names it."""
    home.mkdir(parents=True, exist_ok=True)
    (home / "models.toml").write_text(
        f'[faulty]\nbackend = "openai"\nbase_url = "{url}"\nmodel = "smollm2-135m"\n'
        'grammar_mode = "gbnf"\n'
    )
    return "faulty"


def test_simulate_trajectories_says_how_many_runs_a_fault_cut_short(faulty, tmp_path):
    relay, url = faulty
    home, sim = tmp_path / "home", tmp_path / "sim"
    name = registered(home, url)
    write_records(sim / REQUESTS, TWO)
    relay.script = ["503"] * 4  # the client's 3 retries and the call itself: one request lost
    args = [WAYPOINT, "simulate", "trajectories", "--world", "llm", "--teacher", name,
            "--max-steps", "1", "--out", str(sim)]  # fmt: skip
    env = {**os.environ, "WAYPOINT_HOME": str(home)}
    done = subprocess.run(args, env=env, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-2000:]
    said = " ".join(done.stderr.split())
    assert "1 new, 0 already there, 0 failed, 1 cut short by a server fault" in said
    assert "run the same command to retry them" in said
    again = subprocess.run(args, env=env, capture_output=True, text=True, timeout=300)
    assert "1 new, 1 already there, 0 failed, 0 cut short" in " ".join(again.stderr.split())


# -- evaluation: the same, and several runs in flight -------------------------------------

SETTINGS = EvalSettings(max_steps=2)


def evaluate(out: Path, name: str, **kwargs):
    return run_eval([f"zero-shot:{name}"], "atlas:3:3", 1, "atlas", out, settings=SETTINGS,
                    show_progress=False, **kwargs)  # fmt: skip


def test_an_evaluation_records_no_run_a_fault_cut_short_and_a_rerun_runs_it(
    faulty, tmp_path, monkeypatch
):
    relay, url = faulty
    monkeypatch.setenv("WAYPOINT_HOME", str(tmp_path / "home"))
    name = registered(tmp_path / "home", url)
    relay.then = "502"  # the server goes down once the model is checked
    out = tmp_path / "eval"
    first = evaluate(out, name)
    assert (first.written, first.faults, first.failed, first.judged) == (0, 3, 0, 0)
    assert RunStore.open(out).trajectories() == [] and "answered 502" in first.problems[0]
    relay.then = "ok"  # back up
    again = evaluate(out, name)
    assert (again.written, again.judged, again.faults, again.skipped) == (3, 3, 0, 0)


def test_eval_workers_keep_several_runs_in_flight_against_a_server(faulty, tmp_path, monkeypatch):
    relay, url = faulty
    monkeypatch.setenv("WAYPOINT_HOME", str(tmp_path / "home"))
    name = registered(tmp_path / "home", url)
    out = tmp_path / "eval"
    summary = evaluate(out, name, workers=3)
    assert (summary.written, summary.judged, summary.faults) == (3, 3, 0)
    store = RunStore.open(out)
    assert sorted(r.key for r in store.trajectories()) == sorted(r.key for r in store.ratings())
    assert len({r.key for r in store.trajectories()}) == 3
    assert relay.peak >= 2  # the server saw requests of two runs at once


def test_eval_workers_refuse_a_model_that_runs_in_process(tmp_path):
    with pytest.raises(EvalError, match="--workers > 1 needs every model behind HTTP"):
        evaluate(tmp_path / "eval", "smollm2-135m", workers=2)


def test_a_tool_passes_a_server_fault_on_instead_of_becoming_a_tool_error():
    """A fault while a tool's model writes its arguments is no tool result: it reaches the
    agent (which records no step), while a model's bad answer stays the tool's error."""
    from models.chat_model import ChatModel, ModelError, ServerFault
    from schemas.rating import Rating
    from tools.function_calling import ToolError, structured

    class Failing(ChatModel):
        def __init__(self, error: Exception) -> None:
            self.error = error

        def complete(self, messages, **kwargs):
            raise self.error

    with pytest.raises(ServerFault):
        structured(Failing(ServerFault("503 after 3 tries")), Rating, [], max_tokens=8)
    with pytest.raises(ToolError, match="could not produce"):
        structured(Failing(ModelError("no JSON")), Rating, [], max_tokens=8)
