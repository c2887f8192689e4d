"""Worked examples (`planner.examples`): the nearest solved request, matched on what a request
asks rather than what it names, shown to the fine-tuned planner in training and at inference
alike; real all-MiniLM-L6-v2 embeddings throughout."""

import pytest

from finetune.package import EXAMPLES, package_dataset, write_dataset
from models.registry import worked_examples
from planner.examples import ExampleBank, ExamplesError, gist
from planner.model_planner import FineTunedPlanner
from planner.prompts import fine_tuned_messages
from schemas.examples import ExampleStep, WorkedExample
from schemas.trajectory import Scratchpad
from tools.atlas.tools import ATLAS_TOOL_NAMES


def solved(request: str, *steps: tuple[str, str], phrasing: str | None = None) -> WorkedExample:
    return WorkedExample(
        request=request,
        phrasing=phrasing,
        steps=[ExampleStep(tool=tool, task=task) for tool, task in steps],
    )


BANK = [
    solved("What's left if you take 38 from 702?", ("calculate", "Calculate 702 - 38.")),
    solved("What is 12 times 9?", ("calculate", "Calculate 12 * 9.")),
    solved(
        "How long is the Tesorobo River?",
        ("search_wikipedia", "Find the length of the Tesorobo River."),
    ),
    solved("What can you do?", ("final_answer", "I can search an encyclopedia and calculate.")),
    solved("Who founded Gabraluzu Foods?", ("search_wikipedia", "Find the founder.")),
]


@pytest.mark.parametrize(
    "request_text, gist_text",
    [
        ("take 23 away from 764. cheers!", "take N away from N. cheers!"),
        ("Hi, how long is the Mevoleza River?", "Hi, how long is the X?"),
        ("How high is Mount Everest?", "How high is X?"),
        ("Please e-mail somi@homail.org on 2027-07-20.", "Please e-mail X@X on N."),
        ("Hi! Was Radrakubre or Divedulo founded earlier?", "Hi! Was X or X founded earlier?"),
    ],
)
def test_the_gist_keeps_what_is_asked_and_drops_names_numbers_and_addresses(
    request_text, gist_text
):
    assert gist(request_text) == gist_text


@pytest.mark.parametrize(
    "request_text, expected",
    [
        ("Take 23 away from 764.", 0),
        ("How many metres long is the Gabraluzu River?", 2),  # not the request naming Gabraluzu
        ("How can you help me?", 3),
    ],
)
def test_the_nearest_example_is_the_one_of_the_same_kind(request_text, expected):
    assert ExampleBank(BANK).nearest(request_text) is BANK[expected]


def test_an_example_that_gives_an_address_and_numbers_as_the_request_does_comes_first():
    by_name = solved(
        "Tell Bina Brokrebrame by e-mail that the office is closed.",
        ("search_wikipedia", "Find the e-mail address of Bina Brokrebrame."),
    )
    by_address = solved(
        "Write to gehi@pimail.org: lunch is at noon.",
        ("send_email", "Send an e-mail to gehi@pimail.org saying that lunch is at noon."),
    )
    bank = ExampleBank([by_name, by_address])
    assert (
        bank.nearest("Let pozi@hamail.org know by e-mail that the office is closed.") is by_address
    )
    assert bank.nearest("Let Pozi Hamu know by e-mail that lunch is at noon.") is by_name


def test_nearest_each_skips_what_the_caller_rules_out():
    bank = ExampleBank(BANK)
    requests = ["What is 702 minus 38?", "What is 702 minus 38?"]
    first, second = bank.nearest_each(requests, lambda i, e: i == 0 or e is not BANK[0])
    assert first is BANK[0] and second is not BANK[0]
    with pytest.raises(ExamplesError, match="every one is ruled out"):
        bank.nearest_each(requests, lambda i, e: False)


def test_a_missing_or_empty_bank_is_one_clear_error(tmp_path):
    with pytest.raises(ExamplesError, match="no such worked-examples file"):
        ExampleBank.load(tmp_path / "missing.jsonl")
    (tmp_path / "empty.jsonl").write_text("")
    with pytest.raises(ExamplesError, match="holds no worked examples"):
        ExampleBank.load(tmp_path / "empty.jsonl")


def test_the_prompt_shows_the_example_before_the_request():
    plain = fine_tuned_messages("What is 5 minus 3?", Scratchpad())
    shown = fine_tuned_messages("What is 5 minus 3?", Scratchpad(), (), BANK[0])
    assert shown[0] == plain[0] and len(shown) == len(plain)
    assert shown[1].content.endswith(plain[1].content)  # the request comes last, unchanged
    example = shown[1].content.removesuffix(plain[1].content)
    assert "Request: What's left if you take 38 from 702?" in example
    assert "1. calculate: Calculate 702 - 38." in example


def test_a_fine_tuned_planner_with_a_bank_shows_the_nearest_example(chat_model):
    planner = FineTunedPlanner(chat_model, [], examples=ExampleBank(BANK))
    [_, first] = planner.messages("Take 4 away from 10.", Scratchpad(), ())
    assert "Calculate 702 - 38." in first.content
    [_, bare] = FineTunedPlanner(chat_model, []).messages("Take 4 away from 10.", Scratchpad(), ())
    assert "solved" not in bare.content


def test_training_shows_each_request_an_example_of_another_wording(atlas_simulated, tmp_path):
    requests, trajectories, ratings = atlas_simulated
    phrasings = {r.id: r.phrasing for r in requests}
    dataset = package_dataset(
        trajectories, ratings, ATLAS_TOOL_NAMES, val_fraction=0.2, phrasings=phrasings
    )
    train_ids = {e.request_id for e in dataset.train}
    assert {e.request for e in dataset.examples} == {
        t.request for t in trajectories if t.request_id in train_ids
    }  # the bank is the training split: no validation request is ever shown
    by_request = {e.request: e for e in dataset.examples}
    by_id = {t.request_id: t for t in trajectories}
    for example in dataset.train + dataset.validation:
        first = example.messages[1].content
        shown = next(r for r in by_request if f"Request: {r}\n1. " in first)
        assert shown != by_id[example.request_id].request
        assert by_request[shown].phrasing != phrasings[example.request_id]
    write_dataset(dataset, tmp_path)
    assert len(tmp_path.joinpath(EXAMPLES).read_text().splitlines()) == len(dataset.examples)
    plain = package_dataset(trajectories, ratings, ATLAS_TOOL_NAMES, val_fraction=0.2)
    write_dataset(plain, tmp_path)
    assert not plain.examples and not tmp_path.joinpath(EXAMPLES).exists()


def test_a_registry_entry_names_its_examples_beside_it(tmp_path, monkeypatch):
    monkeypatch.setenv("WAYPOINT_HOME", str(tmp_path))
    (tmp_path / "models.toml").write_text(
        '[mine]\nbackend = "llamacpp"\nbundled = true\nplanner = "fine-tuned"\n'
        'examples = "planners/mine/examples.jsonl"\n'
        '[plain]\nbackend = "llamacpp"\nbundled = true\n'
    )
    assert worked_examples("mine") == tmp_path / "planners/mine/examples.jsonl"
    assert worked_examples("plain") is None
