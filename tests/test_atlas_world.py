"""The atlas world: deterministic, disjoint across seeds, requests with sound gold solutions."""

import pytest

from schemas.errors import WaypointError
from schemas.plan import plan_model
from tools.atlas.attributes import ATTRS, GENERIC
from tools.atlas.judge import mentions
from tools.atlas.names import MAX_SEED, SLOTS_PER_WORLD, coded_name
from tools.atlas.requests import HELD_OUT_SHAPES, SHAPES, TRAINING_SHAPES, atlas_requests
from tools.atlas.tools import ATLAS_TOOL_NAMES, atlas_tools
from tools.atlas.wording import voice
from tools.atlas.world import build_world, coded_word, shown
from tools.registry import TOOLS


def test_same_seed_gives_a_byte_identical_world():
    first, second = build_world(7), build_world(7)
    assert first.model_dump_json() == second.model_dump_json()
    assert [a.model_dump_json() for a in first.articles()] == [
        a.model_dump_json() for a in second.articles()
    ]
    texts = [r.model_dump_json() for r in atlas_requests(first, 200)]
    assert texts == [r.model_dump_json() for r in atlas_requests(second, 200)]


@pytest.mark.parametrize(("a", "b"), [(1, 2), (0, MAX_SEED), (123, 124)])
def test_two_seeds_share_no_entity(a, b):
    one, two = build_world(a), build_world(b)
    names = ({e.name for e in one.entities()}, {e.name for e in two.entities()})
    assert names[0].isdisjoint(names[1])
    words = ({coded_word(e) for e in one.entities()}, {coded_word(e) for e in two.entities()})
    assert words[0].isdisjoint(words[1])
    assert len(words[0]) == len(one.entities())  # the coded word identifies an entity
    emails = ({p.email for p in one.people}, {p.email for p in two.people})
    assert emails[0].isdisjoint(emails[1])


def test_coded_names_never_collide_across_seeds_and_slots():
    names = [coded_name(seed, slot) for seed in range(20) for slot in range(SLOTS_PER_WORLD)]
    assert len(set(names)) == len(names)
    with pytest.raises(ValueError):
        coded_name(MAX_SEED + 1, 0)


def test_every_fact_is_in_its_article():
    world = build_world(3)
    for entity, article in zip(world.entities(), world.articles(), strict=True):
        assert article.title == entity.name
        for a in ATTRS:
            if a.kind == entity.kind:
                fact = shown(entity, getattr(entity, a.field))
                assert fact in article.text, (a.field, article.text)
    assert any("," in a.text for a in world.articles())  # some articles group digits


def test_requests_cover_every_shape_with_valid_expert_plans():
    world = build_world(5)
    requests = atlas_requests(world, 600, "all")
    assert {r.shape for r in requests} == set(SHAPES)
    assert len({r.text for r in requests}) == len(requests)
    plan_class = plan_model(ATLAS_TOOL_NAMES)
    for request in requests:
        plans = request.plans()
        assert [p.tool for p in plans] == request.gold.tools
        assert plans[-1].tool == "final_answer"
        for plan in plans:
            plan_class.model_validate(plan.model_dump())  # lengths and tool names fit
        assert (request.gold.answer is None) != (request.gold.action is None)


def test_held_out_phrasings_never_reach_the_training_set():
    world = build_world(5)
    train = atlas_requests(world, 300, "train")
    heldout = atlas_requests(world, 100, "heldout")
    assert not any(r.heldout for r in train)
    assert all(r.heldout for r in heldout)
    assert {r.shape for r in train} == set(TRAINING_SHAPES)
    assert set(HELD_OUT_SHAPES) <= {r.shape for r in heldout}
    held_out_wordings = {r.phrasing for r in heldout if r.shape not in HELD_OUT_SHAPES}
    assert {r.phrasing for r in train}.isdisjoint(held_out_wordings)
    question = {r.phrasing for r in heldout if r.phrasing.startswith("question/")}
    assert question <= {f"question/{len(GENERIC.train) + i}" for i in range(len(GENERIC.heldout))}
    with pytest.raises(WaypointError, match="held out of training"):
        atlas_requests(world, 5, "train", shapes=HELD_OUT_SHAPES)


def test_requests_come_in_many_wordings():
    """Per shape, the texts differ beyond their entities: openers, closers, slips."""
    requests = atlas_requests(build_world(5), 1500, "train")
    lookups = [r.text for r in requests if r.shape == "lookup"]
    frames = {text.split(" ")[0] for text in lookups}
    assert len(frames) > 20
    assert any(t[0].islower() for t in lookups) and any(t[-1].isalnum() for t in lookups)
    assert any(r.history for r in requests if r.shape == "followup")


def test_voice_never_alters_a_name():
    import random

    rng = random.Random(0)
    for _ in range(300):
        text = voice("How high is Mount Kobadefu near Tirashu?", rng, "all", ["Mount Kobadefu"])
        assert "Mount Kobadefu" in text


@pytest.mark.parametrize("phrasings", ["train", "heldout"])
def test_what_an_action_must_copy_is_never_misspelt_in_the_request(phrasings):
    """The judge wants the e-mail's message and the event's title as the gold action has
    them, so a typo there would make copying the request fail."""
    from tools.atlas.judge import normalize

    shapes = ("email", "calendar", "user")
    for request in atlas_requests(build_world(3), 150, phrasings, shapes=shapes):
        action = request.gold.action
        if action is None:
            continue
        copied = action.arguments.get("body") or action.arguments["title"]
        assert normalize(copied) in normalize(request.text), (request.text, copied)


def test_requests_need_the_world_facts():
    """Requests about entities need a search; the gold answer is not in their text (but for
    comparisons, which name both candidates)."""
    world = build_world(5)
    about_entities = {"lookup", "multihop", "comparison", "sum", "age", "user", "followup"}
    for request in atlas_requests(world, 300):
        if request.shape in about_entities:
            assert "search_wikipedia" in request.gold.tools
        if request.shape in about_entities - {"comparison"}:
            gold = request.gold.answer
            assert gold is None or mentions(request.text, gold) < 0, request.text


def test_too_many_requests_for_a_shape_is_one_clear_error(monkeypatch):
    from tools.atlas import requests

    def one_text(world, rng, split):
        return requests.Built("Hello!", "chat.greeting/0", [requests.final("Hi.", "hi")], "hi")

    monkeypatch.setitem(requests.SHAPES, "chat", (one_text, 1))
    with pytest.raises(WaypointError, match="distinct requests"):
        atlas_requests(build_world(1), 2, "train", shapes=("chat",))
    with pytest.raises(WaypointError, match="unknown request shapes"):
        atlas_requests(build_world(1), 5, shapes=("poetry",))


def test_atlas_tools_are_the_real_tools_by_name_and_description():
    """One tool vocabulary: a planner trained in the atlas world plans over the real tools."""
    tools = atlas_tools(build_world(1))
    assert tuple(t.name for t in tools) == ATLAS_TOOL_NAMES
    assert set(ATLAS_TOOL_NAMES) <= set(TOOLS)
    from tools.registry import tool_class

    for tool in tools:
        assert tool.description == tool_class(tool.name).description


def test_every_search_says_what_its_fact_is_for_when_the_request_needs_more():
    """Two searches read alike in a sum and in a comparison; their thoughts tell them apart,
    so the step after them follows from the planner's own words, not from the request alone."""
    goals = {"sum": "for the sum.", "comparison": "to compare them.", "age": "the age in"}
    requests = atlas_requests(build_world(1), 300)
    for request in requests:
        searches = [s.thoughts for s in request.solution if s.tool == "search_wikipedia"]
        if request.shape in goals:
            assert searches and all(goals[request.shape] in t for t in searches), request.text
        if request.shape == "lookup":
            assert not any(g in t for g in goals.values() for t in searches)
