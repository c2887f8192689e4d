"""Simulated trial and error for the tool caller, the tool-caller stage with replay, and the
trained adapter serving calls beside its base (all at tiny scale)."""

import json

import pytest

from finetune.config import RUN_FILE
from finetune.tool_caller import ToolCallerConfig, write_examples
from finetune.trial_and_error import CALLS, EPISODES, Episode, ExploreConfig, ExploredCall, explore
from schemas.dataset import SFTExample
from schemas.records import read_records
from tools.atlas.world import build_world
from tools.calls.cases import make_cases
from tools.calls.trial import parse_call, toolbox


@pytest.fixture(scope="module")
def expert_calls(tmp_path_factory):
    """Calls explored by the atlas world's expert, per tool."""
    folders = {}
    for tool in ("calculate", "convert_units", "send_email"):
        out = tmp_path_factory.mktemp(f"explore-{tool}")
        config = ExploreConfig(out=out, tools=[tool], episodes=4, explorer="expert")
        summary = explore(config, None, show=False)
        assert summary[tool].solved == summary[tool].first_trial == 4
        folders[tool] = out
    return folders


def test_the_expert_solves_every_episode_and_its_calls_are_training_conversations(
    expert_calls,
):
    calls = read_records(expert_calls["send_email"] / CALLS, ExploredCall)
    assert len(calls) == 4 and {c.source for c in calls} == {"scenario"}
    for call in calls:
        roles = [m.role for m in call.messages]
        assert roles == ["system", "user", "assistant"]
        assert "send_email" in call.messages[0].content and call.task in call.messages[1].content
        assert "@" in json.loads(call.messages[-1].content)["to"]
    families = {e.task for e in read_records(expert_calls["send_email"] / EPISODES, Episode)}
    assert len(families) == 4  # long-term memory: no scenario twice


def test_the_expert_s_call_copies_the_task_s_words(tmp_path):
    """A time stays as the task writes it ("2:45pm", which the tool reads as 14:45): a tool
    caller learns to copy it, not to convert it."""
    config = ExploreConfig(out=tmp_path, tools=["create_event"], episodes=12, explorer="expert")
    explore(config, None, show=False)
    calls = read_records(tmp_path / CALLS, ExploredCall)
    times = {c.task: json.loads(c.messages[-1].content)["start_time"] for c in calls}
    assert any(time.endswith(("am", "pm")) for time in times.values())
    assert all(time in task or time == "09:00" for task, time in times.items())  # 09:00: untimed


@pytest.fixture(params=["in_process", "endpoint"])
def explorer(request):
    """The bundled model in process, or behind llama-cpp-python's OpenAI-compatible server on
    127.0.0.1 (as a teacher model is reached)."""
    if request.param == "in_process":
        return request.getfixturevalue("chat_model")
    from models.openai_compat import OpenAIChatModel

    server = request.getfixturevalue("llamacpp_server")
    return OpenAIChatModel(server, "smollm2-135m", grammar_mode="gbnf", max_retries=0)


def test_the_model_explores_by_trial_and_error(explorer, tmp_path):
    config = ExploreConfig(
        out=tmp_path, tools=["calculate"], episodes=2, trials=2, paraphrases=1, worlds=[11]
    )
    summary = explore(config, explorer, show=False)
    episodes = read_records(tmp_path / EPISODES, Episode)
    assert summary["calculate"].episodes == len(episodes) == 2
    for episode in episodes:
        # a failed trial is followed by another until the budget is spent
        assert 1 <= len(episode.trials) <= 2
        assert episode.trials[-1].ok or len(episode.trials) == 2
        assert all(t.ok for t in episode.trials[-1:]) == episode.solved
    cases = {c.id: c for c in make_cases(build_world(11), 2, "train", ["calculate"])}
    assert {e.case for e in episodes} == set(cases)
    explored = read_records(tmp_path / CALLS, ExploredCall)
    assert len(explored) == summary["calculate"].examples
    with toolbox(None, tmp_path / "check", ["calculate"]) as tools:
        for call in explored:  # every kept call really does what its scenario asks
            arguments = parse_call(tools["calculate"], json.loads(call.messages[-1].content))
            observation = tools["calculate"].execute(arguments)
            assert cases[call.case].intent.judge(observation.text).ok


def test_replay_adds_a_sample_of_the_old_tools_calls(expert_calls, tmp_path):
    config = ToolCallerConfig(
        calls=[expert_calls["convert_units"]], replay=[expert_calls["calculate"]],
        replay_fraction=0.5, out=tmp_path, val_fraction=0.25,
    )  # fmt: skip
    data = write_examples(config)
    assert (data.new_examples, data.replayed) == (4, 2)
    examples = read_records(data.folder / "train.jsonl", SFTExample) + read_records(
        data.folder / "validation.jsonl", SFTExample
    )
    tools = [e.request_id.split(":")[0] for e in examples]
    assert tools.count("convert_units") == 4 and tools.count("calculate") == 2
    none = write_examples(config.model_copy(update={"replay_fraction": 0.0}))
    assert none.replayed == 0


@pytest.mark.slow
def test_a_trained_tool_caller_serves_calls_as_an_adapter_of_its_base(
    expert_calls, bundled_path, tmp_path
):
    from finetune.tool_caller import train_tool_caller
    from models.adapters import AdaptedChatModel
    from quantize.lora import export_lora
    from tools.calls.trial import measure

    config = ToolCallerConfig(
        calls=[expert_calls["calculate"], expert_calls["send_email"]], out=tmp_path,
        val_fraction=0.25,
        train={"max_steps": 2, "batch_size": 2, "grad_accum": 1, "max_length": 512,
               "logging_steps": 1, "lora": {"r": 4, "alpha": 8}},
    )  # fmt: skip
    result = train_tool_caller(config)
    assert result.training.steps == 2 and result.data.new_examples == 8
    run = json.loads((result.training.adapter / RUN_FILE).read_text())
    assert run["learning_rate"] == 1e-3 and run["lora"]["top_layers"] == 15  # the CPU recipe
    assert run["lora"]["r"] == 4 and run["batch_size"] == 2  # under the caller's settings
    gguf = export_lora(result.training.adapter, tmp_path / "tool_caller.gguf").path
    model = AdaptedChatModel(bundled_path, n_ctx=1024, n_threads=1, adapters={"tool_caller": gguf})
    cases = make_cases(build_world(2), 2, "heldout", ["calculate", "send_email"])
    outcomes = measure(model.with_adapter("tool_caller"), cases, "model", tmp_path / "home")
    assert [o.case_id for o in outcomes] == [c.id for c in cases]
    assert model.adapters.switches == 1  # the adapter was applied, once
