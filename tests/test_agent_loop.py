"""The agent loop against a scripted chat model: the control flow, events, errors,
conversation, records and the plan grammar that follows the run. The real-model runs are in
test_agent_e2e.py."""

import json
from collections.abc import Sequence
from typing import Any

import jsonschema
import pytest

from models.chat_model import ChatModel, CompletionError
from planner import prompts
from planner.agent import Agent, RunInterrupted
from planner.model_planner import FineTunedPlanner, ZeroShotPlanner
from planner.transcript import load_transcript, save_transcript
from schemas.chat import Completion, Message
from schemas.plan import PlanRecord
from schemas.trajectory import Exchange, Scratchpad, Step, TrajectoryMeta
from tools.base import Observation, Tool, ToolError
from tools.calculate import Calculate
from tools.final_answer import FinalAnswer
from tools.send_email import SendEmail


class ScriptedModel(ChatModel):
    """Answers each schema with the next scripted reply for it, which must satisfy the
    schema as a grammar would make it; records every prompt and schema."""

    name = "scripted"

    def __init__(self, replies: dict[str, list[Any]]) -> None:
        self.replies = {k: list(v) for k, v in replies.items()}
        self.prompts: list[tuple[str, list[Message]]] = []
        self.schemas: list[dict[str, Any]] = []

    def complete(self, messages: Sequence[Message], *, schema=None, **_: Any) -> Completion:
        name = schema["title"] if isinstance(schema, dict) else schema.__name__
        self.prompts.append((name, list(messages)))
        reply = self.replies[name].pop(0)
        if isinstance(reply, BaseException):
            raise reply
        text = json.dumps(reply)
        if isinstance(schema, dict):
            self.schemas.append(schema)
            jsonschema.validate(reply, schema)  # the grammar would not let anything else out
            parsed: Any = reply
        else:
            parsed = schema.model_validate_json(text)
        return Completion(text=text, parsed=parsed, prompt_tokens=10, completion_tokens=5)


def plan(tool: str, task: str) -> dict[str, str]:
    return {"context": "so far", "thoughts": "next", "task": task, "tool": tool}


class Boom(Tool):
    name = "boom"
    description = "Always fails."

    def __init__(self, error: BaseException) -> None:
        self.error = error

    def run(self, request: str, task: str, scratchpad: Scratchpad) -> Observation:
        raise self.error


class Finish(Tool):
    """A final tool with an unusual name: the agent must not care what it is called."""

    name = "wrap_up"
    description = "Ends the run."

    def run(self, request: str, task: str, scratchpad: Scratchpad) -> Observation:
        return Observation(text=f"done after {len(scratchpad.steps)} steps", final=True)


def make_agent(plans: list[Any], extra: Sequence[Tool] = (), **kw):
    model = ScriptedModel({"Plan": plans})
    tools = [Calculate(), FinalAnswer(), *extra]
    agent = Agent(ZeroShotPlanner(model, tools), tools, **kw)
    events: list[str] = []
    agent.subscribe(lambda e: events.append(e.kind))
    return agent, model, events


def test_a_calculation_then_the_answer():
    agent, model, events = make_agent(
        [plan("calculate", "Multiply 17 * 23"), plan("final_answer", "17 times 23 is 391.")]
    )
    t = agent.run("What is 17 * 23?", request_id="r1")
    assert t.status == "answered" and t.answer == "17 times 23 is 391." and t.reason is None
    assert [s.plan.tool for s in t.steps] == ["calculate", "final_answer"]
    assert t.steps[0].observation == "17 * 23 = 391"
    assert t.request_id == "r1" and t.meta.planner == "zero-shot" and t.meta.model == "scripted"
    assert t.prompt_tokens == 20 and t.completion_tokens == 10  # the planner's two calls
    assert events == [
        "run_started", "plan_made", "tool_started", "tool_finished",
        "plan_made", "tool_started", "tool_finished", "answered", "run_finished",
    ]  # fmt: skip
    # the second plan saw the first result
    second_plan_prompt = [p for name, p in model.prompts if name == "Plan"][1]
    assert "17 * 23 = 391" in second_plan_prompt[-1].content


def test_the_plan_grammar_admits_exactly_the_tools():
    agent, _, _ = make_agent([plan("final_answer", "x")])
    schema = agent.planner.schema(Scratchpad(), None)
    assert schema["properties"]["tool"]["enum"] == ["calculate", "final_answer"]
    assert list(schema["properties"]) == ["context", "thoughts", "task", "tool"]


def test_a_step_already_taken_cannot_be_taken_again():
    """The loop a small model falls into ("calculate 17 * 23" again and again) is refused
    by the grammar; the same task with another tool, or another task, is still open."""
    agent, model, _ = make_agent([plan("calculate", "17 * 23"), plan("final_answer", "391")])
    agent.run("What is 17 * 23?")
    second = model.schemas[1]
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate(plan("calculate", "17 * 23"), second)
    jsonschema.validate(plan("final_answer", "17 * 23"), second)
    jsonschema.validate(plan("calculate", "17 * 23 * 1"), second)


def test_the_last_step_can_only_end_the_run():
    agent, model, _ = make_agent(
        [plan("calculate", "1 + 1"), plan("calculate", "2 + 2"), plan("final_answer", "4")],
        max_steps=3,
    )
    t = agent.run("Keep adding 1 and 2")
    assert t.status == "answered" and t.answer == "4"
    last = model.schemas[-1]["properties"]["tool"]
    assert last.get("enum", [last.get("const")]) == ["final_answer"]
    assert model.schemas[0]["properties"]["tool"]["enum"] == ["calculate", "final_answer"]


class LookUp(Tool):
    name = "look_up"
    description = "Finds an address."

    def run(self, request: str, task: str, scratchpad: Scratchpad) -> Observation:
        return Observation(text="Ana Lind: her address is ana.lind@example.com.")


def offered(schema: dict[str, Any]) -> set[str]:
    """The tools a plan schema admits, over its branches."""
    return {t for b in schema.get("anyOf", [schema]) for t in b["properties"]["tool"]["enum"]}


def test_send_email_is_offered_only_once_an_address_has_been_read(tmp_path):
    """An e-mail to an address no text of the run holds would go to a made-up one (or fail):
    the grammar offers send_email from the step after the address is read."""
    plans = [
        plan("look_up", "Find the e-mail address of Ana Lind."),
        plan("send_email", "Send an e-mail to ana.lind@example.com saying that it is ready."),
        plan("final_answer", "I told Ana Lind."),
    ]
    agent, model, _ = make_agent(plans, extra=[LookUp(), SendEmail(outbox=tmp_path)])
    t = agent.run("Tell Ana Lind by e-mail that the report is ready.")
    assert t.status == "answered" and len(list(tmp_path.glob("*.eml"))) == 1
    assert [offered(s) >= {"send_email"} for s in model.schemas] == [False, True, True]
    # an address in the request, or in an earlier turn, is read from the start
    spelled = [
        plan("send_email", "Send an e-mail to bo@example.com saying hi."),
        plan("final_answer", "Done."),
    ]
    agent, model, _ = make_agent(spelled, extra=[SendEmail(outbox=tmp_path)])
    assert agent.run("E-mail bo@example.com: hi").status == "answered"
    agent, model, _ = make_agent(spelled, extra=[SendEmail(outbox=tmp_path)])
    earlier = [Exchange(request="What is Bo's address?", answer="It is bo@example.com.")]
    assert agent.run("Say hi to him by e-mail.", history=earlier).status == "answered"
    assert "send_email" in offered(model.schemas[0])


def test_running_out_of_steps_is_incomplete_never_an_answer():
    agent, _, events = make_agent(
        [plan("calculate", "1 + 1"), plan("calculate", "2 + 2"), plan("final_answer", " ")],
        max_steps=3,
    )
    # the last step's answer is empty: the final tool refuses it
    t = agent.run("Keep adding 1 and 2")
    assert t.status == "incomplete" and t.answer is None
    assert len(t.steps) == 3 and "3 steps" in t.reason and t.steps[-1].error
    assert "answered" not in events and events[-1] == "run_finished"


@pytest.mark.parametrize(
    ("error", "shown"),
    [
        (ToolError("the service is down"), "the service is down"),
        (RuntimeError("bug"), "RuntimeError: bug"),
    ],
)
def test_a_failing_tool_becomes_an_observation_and_the_loop_goes_on(error, shown):
    agent, _, _ = make_agent(
        [plan("boom", "try"), plan("final_answer", "It failed.")], extra=[Boom(error)]
    )
    t = agent.run("Do it")
    assert t.status == "answered"
    assert t.steps[0].error == shown and t.steps[0].observation == f"error: {shown}"


def test_a_planner_failure_ends_the_run_as_failed_keeping_the_steps():
    cut_off = CompletionError("cut off by max_tokens")
    agent, _, events = make_agent([plan("calculate", "2 * 3"), cut_off])
    t = agent.run("Compute 2 * 3")
    assert t.status == "failed" and "step 2" in t.reason and "cut off" in t.reason
    assert len(t.steps) == 1 and events[-1] == "run_finished"


def test_ctrl_c_keeps_the_finished_steps():
    agent, _, events = make_agent(
        [plan("calculate", "2 * 3"), plan("boom", "wait")], extra=[Boom(KeyboardInterrupt())]
    )
    with pytest.raises(RunInterrupted) as caught:
        agent.chat("Compute 2 * 3, then wait")
    t = caught.value.trajectory
    assert [s.observation for s in t.steps] == ["2 * 3 = 6"]
    assert t.status == "incomplete" and "interrupted" in t.reason
    assert agent.turns == [t] and events[-1] == "run_finished"


def test_a_final_observation_ends_the_run_whatever_the_tool_is_called():
    agent, _, _ = make_agent([plan("calculate", "1 + 2"), plan("wrap_up", "end")], extra=[Finish()])
    t = agent.run("Add 1 + 2 and stop")
    assert t.status == "answered" and t.answer == "done after 1 steps"


def test_conversation_history_reaches_the_planner_and_reset_forgets_it():
    agent, model, _ = make_agent(
        [plan("final_answer", "Paris."), plan("final_answer", "2.1 million."),
         plan("final_answer", "?")]
    )  # fmt: skip
    agent.chat("What is the capital of France?")
    second = agent.chat("How many people live there?")
    assert second.history == [Exchange(request="What is the capital of France?", answer="Paris.")]
    plan_prompt = [p for name, p in model.prompts if name == "Plan"][1][-1].content
    assert "What is the capital of France?" in plan_prompt and "Paris." in plan_prompt
    agent.reset()
    assert agent.chat("Hello").history == []


def test_transcripts_round_trip(tmp_path):
    agent, _, _ = make_agent([plan("calculate", "6 * 7"), plan("final_answer", "42")])
    agent.chat("What is 6 * 7?")
    path = tmp_path / "chat.jsonl"
    save_transcript(path, agent.turns)
    assert load_transcript(path) == agent.turns


def test_the_agent_refuses_a_planner_with_tools_it_lacks():
    model = ScriptedModel({})
    tools = [Calculate(), FinalAnswer()]
    with pytest.raises(ValueError, match="final_answer"):
        Agent(ZeroShotPlanner(model, tools), tools[:1])
    with pytest.raises(ValueError, match="share a name"):
        Agent(ZeroShotPlanner(model, tools[:1]), [Calculate(), Calculate()])


def test_meta_is_recorded_as_given():
    agent, _, _ = make_agent([plan("final_answer", "a")])
    meta = TrajectoryMeta(planner="zero-shot", model="m", seed=3, world="atlas", run=1)
    assert agent.run("x", meta=meta).meta == meta


# -- prompts ---------------------------------------------------------------------------


def scratchpad() -> Scratchpad:
    step = Step(
        plan=PlanRecord(context="c", thoughts="t", task="Multiply 17 by 23", tool="calculate"),
        observation="17 * 23 = 391",
    )
    return Scratchpad(steps=[step])


def test_the_fine_tuned_prompt_grows_by_a_plan_and_a_result_per_step():
    """Step n + 1's prompt extends step n's: what the KV cache and one-sequence training
    rely on."""
    before = prompts.fine_tuned_messages("What is 17 * 23?", Scratchpad())
    after = prompts.fine_tuned_messages("What is 17 * 23?", scratchpad())
    assert after[: len(before)] == before
    assert [m.role for m in after[len(before) :]] == ["assistant", "user"]
    assert json.loads(after[-2].content)["task"] == "Multiply 17 by 23"
    assert after[-1].content == "Result: 17 * 23 = 391"


def test_the_fine_tuned_prompt_is_deterministic_and_has_no_tool_docs():
    history = [Exchange(request="Hi", answer="Hello.")]
    first = prompts.fine_tuned_messages("What is 17 * 23?", scratchpad(), history)
    again = prompts.fine_tuned_messages("What is 17 * 23?", scratchpad(), history)
    assert first == again
    text = "\n".join(m.content for m in first)
    assert "Multiply 17 by 23" in text and "17 * 23 = 391" in text and "Hello." in text
    assert Calculate.description not in text
    model = ScriptedModel({})
    planner = FineTunedPlanner(model, [Calculate()])
    assert planner.messages("What is 17 * 23?", scratchpad(), history) == first


def test_the_zero_shot_prompt_describes_every_tool():
    model = ScriptedModel({})
    tools = [Calculate(), FinalAnswer()]
    text = "\n".join(
        m.content for m in ZeroShotPlanner(model, tools).messages("q", Scratchpad(), [])
    )
    for tool in tools:
        assert f"{tool.name}: {tool.description}" in text
    assert "(no steps yet)" in text


def test_history_in_the_prompt_is_bounded():
    history = [Exchange(request=f"question {i}", answer="x" * 1000) for i in range(10)]
    text = prompts.fine_tuned_messages("q", Scratchpad(), history)[1].content
    assert "question 9" in text and "question 5" not in text
    assert "x" * (prompts.HISTORY_ANSWER_CHARS + 1) not in text
