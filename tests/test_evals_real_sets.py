"""The hand-written real-tool request sets: they load as real sets, every looked-up fact
stands in the bundled encyclopedia, and the check judge rates an answer by its fact."""

import json
from pathlib import Path

import pytest

from evals.checks import CheckJudge
from evals.request_sets import load_request_set, real_tool_requests
from schemas.plan import PlanRecord
from schemas.trajectory import Step, Trajectory, TrajectoryMeta
from tools.atlas.judge import mentions

LATER = real_tool_requests().with_name("real_tools_later.jsonl")  # written after shipping
ENCYCLOPEDIA = Path(__file__).parent.parent / "tools" / "data" / "encyclopedia.jsonl"
SETS = {"real": "real", "later": str(LATER)}


@pytest.fixture(scope="module")
def encyclopedia() -> str:
    lines = ENCYCLOPEDIA.read_text(encoding="utf-8").splitlines()
    return "\n".join(json.loads(line)["text"] for line in lines)


@pytest.mark.parametrize("spec", SETS.values(), ids=SETS.keys())
def test_a_hand_written_set_is_a_real_set_of_thirty_or_more(spec):
    requests = load_request_set(spec)
    assert requests.world == "real" and len(requests.requests) >= 30
    assert len({r.id for r in requests.requests}) == len(requests.requests)
    for request in requests.requests:
        assert request.gold and (request.gold.answer is None) != (request.gold.action is None)


@pytest.mark.parametrize("spec", SETS.values(), ids=SETS.keys())
def test_every_looked_up_fact_stands_in_the_bundled_encyclopedia(spec, encyclopedia):
    for request in load_request_set(spec).requests:
        looked_up = request.gold.tools[:-1] == ["search_wikipedia"]  # not worked out
        if request.gold.answer is not None and looked_up:
            facts = [request.gold.answer, *request.gold.accept]
            assert any(mentions(encyclopedia, f) >= 0 for f in facts), request.id


def _answered(request, answer: str) -> Trajectory:
    plan = PlanRecord(context="", thoughts="", task=answer, tool="final_answer")
    return Trajectory(
        request_id=request.id, request=request.text, meta=TrajectoryMeta(planner="hand"),
        steps=[Step(plan=plan, observation=answer)], answer=answer, status="answered",
    )  # fmt: skip


def test_the_check_judge_rates_an_answer_by_the_fact_it_states():
    request = next(r for r in load_request_set(str(LATER)).requests if r.id == "later-10")
    judge = CheckJudge()
    right = judge.judge(request, _answered(request, "It lies almost 11,000 metres deep."))
    wrong_unit = judge.judge(request, _answered(request, "It is 11,000 kilometres deep."))
    assert (right.answer.score, wrong_unit.answer.score) == (5, 1)
