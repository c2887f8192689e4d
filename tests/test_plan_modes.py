"""The plan grammars, default and self-aware, against the texts a planner is trained on:
llama.cpp's grammar engine with the bundled vocabulary accepts exactly those."""

import pytest

from models.matcher import grammar_accepts
from models.structured import grammar_for
from planner.prompts import plan_text
from schemas.awareness import aware_text, self_aware_schema
from schemas.plan import PlanRecord, plan_schema

TOOLS = ["search_wikipedia", "calculate", "final_answer"]
PLAN = PlanRecord(
    context="Nothing is known yet.",
    thoughts="I need the population of Vela.",
    task="Find the population of Vela.",
    tool="search_wikipedia",
)
TAKEN = [("Find the area of Vela.", "search_wikipedia")]


@pytest.mark.parametrize("taken", [[], TAKEN], ids=["first step", "later step"])
def test_the_plan_grammar_writes_fields_in_the_trained_order(vocab, taken):
    """Regression: a schema dict was compiled with its keys sorted, so the grammar made the
    planner write task before thoughts, the other way round from every training plan."""
    grammar = grammar_for(plan_schema(TOOLS, taken))
    assert grammar_accepts(vocab, grammar, plan_text(PLAN))
    assert not grammar_accepts(
        vocab, grammar, '{"context":"a","task":"b","thoughts":"c","tool":"calculate"}'
    )


def test_self_aware_grammar_takes_every_mode_and_nothing_else(vocab):
    grammar = grammar_for(self_aware_schema(plan_schema(TOOLS, TAKEN), consulted=False))
    for text in (
        aware_text("act", PLAN),
        aware_text("reflect", PLAN, check="Vela is a city; its population is in its article."),
        aware_text("consult"),
    ):
        assert grammar_accepts(vocab, grammar, text), text
    assert not grammar_accepts(vocab, grammar, plan_text(PLAN))  # the mode is required
    assert not grammar_accepts(vocab, grammar, '{"mode":"consult","task":"x"}')
    repeated = PLAN.model_copy(update={"task": TAKEN[0][0]})
    assert not grammar_accepts(vocab, grammar, aware_text("act", repeated))  # no repeated step


def test_after_consulting_only_a_plan_in_mode_act_remains(vocab):
    grammar = grammar_for(self_aware_schema(plan_schema(TOOLS), consulted=True))
    assert grammar_accepts(vocab, grammar, aware_text("act", PLAN))
    assert not grammar_accepts(vocab, grammar, aware_text("consult"))
    assert not grammar_accepts(vocab, grammar, aware_text("reflect", PLAN, check="x"))
