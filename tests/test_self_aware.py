"""Exploration and the self-aware planner (seed 000, KnowSelf): every explored step is
labelled by what the planner got right, the path stays on gold, the labelled steps become
self-aware training conversations whose every plan the self-aware grammar accepts, rules
come back by embedding, and the self-aware planner consults only through its grammar."""

import jsonschema
import pytest
from test_agent_loop import ScriptedModel

from finetune.explore import explore, gold_plan, mistake
from finetune.self_aware import self_aware_dataset
from finetune.sft_data import read_examples
from models.matcher import grammar_accepts
from models.structured import grammar_for
from planner.agent import Agent
from planner.knowledge import TOP_K, KnowledgeBase, KnowledgeError
from planner.model_planner import FineTunedPlanner
from planner.prompts import RULES, consult_turns, self_aware_messages
from planner.self_aware import SelfAwarePlanner
from schemas.awareness import MODES, aware_text, self_aware_schema
from schemas.exploration import Exploration
from schemas.plan import plan_schema
from schemas.records import read_records, write_records
from schemas.trajectory import Scratchpad
from tools.atlas.requests import atlas_requests
from tools.atlas.tools import ATLAS_TOOL_NAMES, atlas_tools
from tools.atlas.world import build_world


@pytest.fixture(scope="module")
def world():
    return build_world(1)


@pytest.fixture(scope="module")
def tools(world):
    return atlas_tools(world)


@pytest.fixture(scope="module")
def lookups(world):
    """Two questions of one search and an answer each."""
    return atlas_requests(world, 2, shapes=("lookup",))


@pytest.fixture(scope="module")
def knowledge():
    return KnowledgeBase.load()


def wrong(task: str, tool: str = "search_wikipedia") -> dict[str, str]:
    return {"context": "Nothing is known yet.", "thoughts": "Hm.", "task": task, "tool": tool}


def scripted_explorations(lookups, tools, out) -> list[Exploration]:
    """Request 1: right, then a wrong answer fixed at the second try (act, reflect).
    Request 2: a wrong search twice (consult), then the right answer (act)."""
    first, second = (r.plans() for r in lookups)
    replies = [
        first[0].model_dump(),
        wrong("I do not know.", "final_answer"),
        first[1].model_dump(),
        wrong("Find the weather in Paris."),
        wrong("Find the capital of France."),
        second[1].model_dump(),
    ]
    model = ScriptedModel({"Plan": replies})
    summary = explore(lookups, FineTunedPlanner(model, tools), tools, out, show_progress=False)
    assert (summary.written, summary.failed) == (2, 0), summary.problems
    assert model.replies["Plan"] == []  # every scripted plan was asked for
    return read_records(out, Exploration)


@pytest.fixture(scope="module")
def explorations(lookups, tools, tmp_path_factory):
    return scripted_explorations(lookups, tools, tmp_path_factory.mktemp("explore") / "x.jsonl")


def test_each_step_is_labelled_by_what_the_planner_got_right(lookups, explorations):
    first, second = explorations
    assert [e.situation for e in first.explored] == ["act", "reflect"]
    assert [e.situation for e in second.explored] == ["consult", "act"]
    # the path is the gold one: own plans where right, the expert's where wrong
    for record, request in zip(explorations, lookups, strict=True):
        assert [s.plan for s in record.steps] == request.plans()
    reflected = first.explored[1]
    assert reflected.own.task == "I do not know."
    assert reflected.retry == lookups[0].plans()[1]
    assert "wrong answer" in reflected.reason
    consulted = second.explored[0]
    assert consulted.retry is not None and consulted.retry.task == "Find the capital of France."
    assert first.mistakes() == [1] and second.mistakes() == [0]


def test_exploration_resumes_without_asking_the_planner_again(lookups, tools, tmp_path):
    out = tmp_path / "explorations.jsonl"
    scripted_explorations(lookups, tools, out)
    silent = ScriptedModel({"Plan": []})  # any plan asked for would raise
    again = explore(lookups, FineTunedPlanner(silent, tools), tools, out, show_progress=False)
    assert (again.written, again.skipped) == (0, 2)


def test_exploring_the_bundled_model_follows_the_gold_path(chat_model, lookups, tools, tmp_path):
    """The real planner: a wrong plan is replaced by the gold one, and its second try is a
    different plan (the grammar ruled the first out)."""
    out = tmp_path / "explorations.jsonl"
    planner = FineTunedPlanner(chat_model, tools)
    summary = explore(lookups, planner, tools, out, max_steps=2, show_progress=False)
    assert (summary.written, summary.failed) == (2, 0), summary.problems
    for record, request in zip(read_records(out, Exploration), lookups, strict=True):
        assert len(record.explored) == len(record.steps) >= 1
        for i, (step, explored) in enumerate(zip(record.steps, record.explored, strict=True)):
            before = record.steps[:i]
            assert explored.gold == gold_plan(request, before)
            assert explored.situation in MODES
            if explored.situation == "act":
                assert step.plan == explored.own and mistake(request, before, step.plan) is None
            else:
                assert step.plan == explored.gold and explored.reason
                assert mistake(request, before, explored.own) == explored.reason
                assert explored.retry is not None and explored.retry != explored.own


def test_labelled_steps_become_self_aware_conversations(
    vocab, lookups, explorations, knowledge, tmp_path
):
    train, validation, modes = self_aware_dataset(explorations, knowledge, val_fraction=0.0)
    assert modes == {"act": 2, "reflect": 1, "consult": 1} and validation == []
    write_records(tmp_path / "train.jsonl", train)
    assert read_examples(tmp_path / "train.jsonl") == train  # the SFT shape holds
    first, second = train
    first_plans = [m.content for m in first.messages if m.role == "assistant"]
    gold = lookups[0].plans()
    assert first_plans[0] == aware_text("act", gold[0])
    assert first_plans[1].startswith('{"mode":"reflect","check":"Not final_answer for')
    second_turns = [(m.role, m.content) for m in second.messages[2:]]
    assert second_turns[0] == ("assistant", aware_text("consult"))
    rules = knowledge.retrieve(lookups[1].text)
    assert second_turns[1] == ("user", consult_turns([r.text for r in rules])[1].content)
    assert "fact" in [r.id for r in rules]  # a question about a fact of a named thing
    # every plan a conversation teaches is one the self-aware grammar lets out
    grammar = grammar_for(self_aware_schema(plan_schema(ATLAS_TOOL_NAMES), consulted=False))
    after_consult = grammar_for(self_aware_schema(plan_schema(ATLAS_TOOL_NAMES), consulted=True))
    assert grammar_accepts(vocab, grammar, first_plans[0])
    assert grammar_accepts(vocab, grammar, second_turns[0][1])
    assert grammar_accepts(vocab, after_consult, second_turns[2][1])
    assert not grammar_accepts(vocab, after_consult, second_turns[0][1])


def test_rules_come_back_by_meaning(knowledge, tmp_path):
    assert knowledge.retrieve("What is 12 times 31?")[0].id == "arithmetic"
    assert knowledge.retrieve("Mail Tovi Brakre that the report is ready.")[0].id == "email"
    assert knowledge.retrieve("Where does my boss live?")[0].id == "user"
    assert len(knowledge.retrieve("Hello!")) == TOP_K
    with pytest.raises(KnowledgeError, match="no such knowledge base"):
        KnowledgeBase.load(tmp_path / "missing.jsonl")
    (tmp_path / "empty.jsonl").write_text("")
    with pytest.raises(KnowledgeError, match="holds no rules"):
        KnowledgeBase.load(tmp_path / "empty.jsonl")


def test_a_consult_shows_the_rules_then_only_a_plan_may_follow(lookups, tools, knowledge):
    request = lookups[0]
    plan = request.plans()[0].model_dump()
    model = ScriptedModel({"SelfAwarePlan": [{"mode": "consult"}, {"mode": "act", **plan}]})
    planner = SelfAwarePlanner(model, tools, knowledge=knowledge)
    decision = planner.plan(request.text, Scratchpad())
    assert decision.plan.model_dump() == plan
    assert decision.awareness.mode == "consult" and len(decision.awareness.retrieved) == TOP_K
    assert (decision.prompt_tokens, decision.completion_tokens) == (20, 10)  # both completions
    (_, asked), (_, shown) = model.prompts
    assert asked == self_aware_messages(request.text, Scratchpad())
    assert shown == [*asked, *consult_turns(decision.awareness.retrieved)]
    assert shown[-1].content.startswith(RULES.split("{")[0])
    with pytest.raises(jsonschema.ValidationError):  # no second consult
        jsonschema.validate({"mode": "consult"}, model.schemas[1])


def test_a_self_aware_plan_is_grounded_like_any_model_plan(lookups, tools, knowledge):
    request = lookups[0]
    gold = request.plans()[0].model_dump()
    name = next(w for w in gold["task"].rstrip(".").split() if w[0].isupper() and len(w) > 5)
    typo = {**gold, "task": gold["task"].replace(name, name[:-1])}  # a letter dropped
    model = ScriptedModel({"SelfAwarePlan": [{"mode": "act", **typo}, {"mode": "act", **typo}]})
    grounded = SelfAwarePlanner(model, tools, knowledge=knowledge).plan(request.text, Scratchpad())
    raw = SelfAwarePlanner(model, tools, knowledge=knowledge, grounded=False)
    assert grounded.plan.task == gold["task"]
    assert raw.plan(request.text, Scratchpad()).plan.task == typo["task"]


def test_the_bundled_model_plans_in_a_mode(chat_model, lookups, tools, knowledge):
    """The real self-aware planner in the agent loop: each step records its mode and the
    rules retrieval gave, and the next prompt shows the step as it was made."""
    planner = SelfAwarePlanner(chat_model, tools, knowledge=knowledge)
    trajectory = Agent(planner, tools, max_steps=2).run(lookups[1].text)
    assert trajectory.status != "failed", trajectory.reason
    for step in trajectory.steps:
        assert step.awareness is not None and step.awareness.mode in MODES
        assert len(step.awareness.retrieved) == TOP_K
    messages = planner.messages(lookups[1].text, Scratchpad(steps=trajectory.steps[:1]), [])
    assert messages[2].content.startswith(f'{{"mode":"{trajectory.steps[0].awareness.mode}"')
