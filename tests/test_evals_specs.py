"""Planner specs and request sets: what a user may write, and one clear line when it is wrong."""

import json

import pytest

from evals.errors import EvalError
from evals.planners import PlannerSpec, parse_planners
from evals.request_sets import load_request_set
from models.registry import DEFAULT_MODEL
from tools.atlas.requests import AtlasRequest
from tools.request_file import RequestFileError


@pytest.mark.parametrize(
    ("text", "label", "model"),
    [
        ("expert", "expert", None),
        ("random", "random", None),
        ("zero-shot", f"zero-shot:{DEFAULT_MODEL}", DEFAULT_MODEL),
        ("fine-tuned:runs/ft/model.gguf", "fine-tuned:runs/ft/model.gguf", "runs/ft/model.gguf"),
        ("self-aware:runs/sa.gguf", "self-aware:runs/sa.gguf", "runs/sa.gguf"),
        (" zero-shot:qwen2.5-7b-instruct-q4 ", "zero-shot:qwen2.5-7b-instruct-q4", None),
    ],
)
def test_planner_specs_parse_to_canonical_labels(text, label, model):
    spec = PlannerSpec.parse(text)
    assert spec.label == label
    if model:
        assert spec.model == model


@pytest.mark.parametrize("text", ["gpt", "expert:x", "random:3", "zeroshot", ""])
def test_a_bad_planner_spec_names_the_valid_ones(text):
    with pytest.raises(EvalError, match="planners are expert, random, zero-shot"):
        PlannerSpec.parse(text)


def test_planner_lists_split_on_commas_and_drop_repeats():
    specs = parse_planners(["expert,random", "zero-shot", "zero-shot:smollm2-135m", "random"])
    assert [s.label for s in specs] == ["expert", "random", "zero-shot:smollm2-135m"]
    with pytest.raises(EvalError, match="at least one planner"):
        parse_planners([" , "])


def test_atlas_request_sets_have_any_seed_size_and_phrasings():
    train = load_request_set("atlas:8:12")
    heldout = load_request_set("atlas:8:12:heldout")
    assert train.world == heldout.world == "atlas" and len(train.requests) == 12
    assert all(isinstance(r, AtlasRequest) and r.world_seed == 8 for r in train.requests)
    assert not any(r.heldout for r in train.requests)
    assert all(r.heldout for r in heldout.requests)
    assert train.atlas_seed() == 8


@pytest.mark.parametrize(
    ("spec", "problem"),
    [
        ("atlas:8", "atlas:SEED:COUNT"),
        ("atlas:x:3", "atlas:SEED:COUNT"),
        ("atlas:8:0", "at least one request"),
        ("atlas:8:3:unseen", "train, heldout or all"),
        ("no/such/file.jsonl", "neither"),
    ],
)
def test_a_bad_request_set_is_one_clear_error(spec, problem):
    with pytest.raises(EvalError, match=problem):
        load_request_set(spec)


def test_a_users_jsonl_needs_only_text(tmp_path):
    path = tmp_path / "mine.jsonl"
    path.write_text('{"text": "What is 2 + 2?"}\n\n{"id": "q2", "text": "Mail Bo."}\n')
    request_set = load_request_set(str(path))
    assert request_set.world == "llm"
    assert [(r.id, r.text) for r in request_set.requests] == [
        ("line-1", "What is 2 + 2?"),
        ("q2", "Mail Bo."),
    ]


def test_a_simulation_folder_gives_its_atlas_requests(tmp_path):
    made = load_request_set("atlas:9:5").requests
    (tmp_path / "requests.jsonl").write_text("".join(r.model_dump_json() + "\n" for r in made))
    request_set = load_request_set(str(tmp_path))
    assert request_set.world == "atlas" and request_set.requests == made


@pytest.mark.parametrize(
    ("lines", "problem"),
    [
        (['{"text": "a"}', "not json"], r"mine\.jsonl:2: not JSON"),
        (['["a list"]'], r"mine\.jsonl:1: a request is a JSON object"),
        (['{"id": "x"}'], r"mine\.jsonl:1: text: Field required"),
        (['{"id": "x", "text": "a"}', '{"id": "x", "text": "b"}'], "'x' appears twice"),
        ([], "no requests"),
    ],
)
def test_a_bad_request_file_names_the_line(tmp_path, lines, problem):
    path = tmp_path / "mine.jsonl"
    path.write_text("\n".join(lines) + "\n")
    with pytest.raises(RequestFileError, match=problem):
        load_request_set(str(path))


def test_atlas_and_other_requests_do_not_mix(tmp_path):
    atlas = load_request_set("atlas:9:1").requests[0].model_dump_json()
    path = tmp_path / "mixed.jsonl"
    path.write_text(atlas + "\n" + json.dumps({"text": "plain"}) + "\n")
    with pytest.raises(RequestFileError, match=r"mixed\.jsonl:2: atlas and other requests are"):
        load_request_set(str(path))
