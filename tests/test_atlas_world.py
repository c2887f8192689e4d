"""The atlas world: deterministic, disjoint across seeds, requests with sound gold solutions."""

import pytest

from schemas.errors import WaypointError
from schemas.plan import plan_model
from tools.atlas.judge import mentions
from tools.atlas.names import MAX_SEED, SLOTS_PER_WORLD, coded_name
from tools.atlas.requests import ATTRS, QUESTION, SHAPES, atlas_requests
from tools.atlas.tools import ATLAS_TOOL_NAMES, atlas_tools
from tools.atlas.world import build_world, coded_word


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
                assert str(getattr(entity, a.field)) in article.text, (a.field, article.text)


def test_requests_cover_every_shape_with_valid_expert_plans():
    world = build_world(5)
    requests = atlas_requests(world, 400, "all")
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
    assert {r.phrasing for r in train}.isdisjoint({r.phrasing for r in heldout})
    question = {r.phrasing for r in heldout if r.phrasing.startswith("question/")}
    assert question <= {f"question/{len(QUESTION.train) + i}" for i in range(len(QUESTION.heldout))}


def test_requests_need_the_world_facts():
    """Every request but a direct one needs the world; the gold answer is not in its text
    (but for comparisons, which name both candidates)."""
    world = build_world(5)
    for request in atlas_requests(world, 200):
        if request.shape != "direct":
            assert "search" in request.gold.tools
        if request.shape not in ("direct", "comparison"):
            gold = request.gold.answer
            assert gold is None or mentions(request.text, gold) < 0, request.text


def test_too_many_requests_for_a_shape_is_one_clear_error():
    with pytest.raises(WaypointError, match="distinct requests"):
        atlas_requests(build_world(1), 500, "heldout", shapes=("user",))
    with pytest.raises(WaypointError, match="unknown request shapes"):
        atlas_requests(build_world(1), 5, shapes=("poetry",))


def test_tool_set_order_matches_the_declared_names():
    assert tuple(t.name for t in atlas_tools(build_world(1))) == ATLAS_TOOL_NAMES
