"""Function-calling cases: free wordings with a known intent, and calls judged by what the
executed tool did (files read back, values, the MCP server's answer)."""

import datetime as dt
import re

import pytest
from num2words import num2words

from tools.atlas.world import build_world
from tools.calls.cases import TOOLS, make_cases
from tools.calls.intents import EmailIntent, EventIntent, NumberIntent
from tools.calls.trial import attempt, parse_call, toolbox
from tools.create_event import Event
from tools.send_email import Email


@pytest.fixture(scope="module")
def world():
    return build_world(3)


def test_cases_are_stable_and_split_by_wording(world):
    train = make_cases(world, 24, "train", TOOLS)
    assert train == make_cases(world, 24, "train", TOOLS)
    assert {c.tool for c in train} == set(TOOLS)
    assert not any(c.heldout for c in train)
    heldout = make_cases(world, 24, "heldout", TOOLS)
    assert all(c.heldout for c in heldout)
    assert not {c.task for c in train} & {c.task for c in heldout}
    other = make_cases(build_world(4), 24, "train", TOOLS)
    addresses = {c.intent.to for c in train if isinstance(c.intent, EmailIntent)}
    assert addresses and not addresses & {
        c.intent.to for c in other if isinstance(c.intent, EmailIntent)
    }


def test_every_case_is_carried_out_by_its_own_call(world, tmp_path):
    cases = make_cases(world, 16, "all", TOOLS)
    with toolbox(None, tmp_path, TOOLS) as tools:
        for case in cases:
            observation = tools[case.tool].execute(parse_call(tools[case.tool], case.call))
            assert case.intent.judge(observation.text).ok, (case.task, observation.text)
            assert all(key.lower() in case.task.lower() for key in case.keys), case.task


def test_a_calculation_states_its_numbers_where_the_caller_sees_them(world):
    """Every operand of the gold expression is in the request, the task or an earlier result,
    as digits or in words: a case whose numbers are nowhere cannot be called right."""
    cases = make_cases(world, 90, "all", ["calculate"])
    assert any(case.scratchpad.steps for case in cases)  # "Add up the population of the two"
    for case in cases:
        seen = " ".join((case.request, case.task, case.scratchpad.render())).replace(",", "")
        for number in re.findall(r"\d+", case.call["expression"]):
            implied = number in {"2", "100"}  # "twice", "half", "squared", "percent"
            written = num2words(int(number)) in seen.lower()
            assert implied or written or number in seen, (case.task, case.call)


def test_an_email_is_judged_by_the_message_written(tmp_path):
    intent = EmailIntent(to="ana@example.com", message="the report is ready")
    with toolbox(None, tmp_path, ["send_email"]) as tools:
        right = tools["send_email"].execute(
            Email(to="ana@example.com", subject="Report", body="Hi Ana, the report is ready.")
        )
        wrong = tools["send_email"].execute(
            Email(to="bo@example.com", subject="Report", body="The report is ready.")
        )
    assert intent.judge(right.text).ok
    verdict = intent.judge(wrong.text)
    assert not verdict.ok and "bo@example.com" in verdict.reason
    assert not intent.judge("E-mail to ana@example.com is in the outbox.").ok  # no file


def test_an_event_is_judged_by_the_calendar_file(tmp_path):
    intent = EventIntent(title="Vora Summit", date=dt.date(2027, 5, 14), start_time="10:00")
    event = Event(title="The Vora Summit", date=dt.date(2027, 5, 14), start_time="10:00",
                  duration_minutes=60, location="Kelo")  # fmt: skip
    with toolbox(None, tmp_path, ["create_event"]) as tools:
        assert intent.judge(tools["create_event"].execute(event).text).ok
        late = event.model_copy(update={"start_time": "11:00", "date": dt.date(2027, 5, 15)})
        verdict = intent.judge(tools["create_event"].execute(late).text)
    assert not verdict.ok and "2027-05-15" in verdict.reason and "11:00" in verdict.reason


def test_numbers_from_the_calculator_and_the_units_server(tmp_path):
    from tools.calculate import Expression

    with toolbox(None, tmp_path, ["calculate", "convert_units"]) as tools:
        product = tools["calculate"].execute(Expression(expression="17 * 23"))
        feet = tools["convert_units"].execute({"value": 12, "unit": "meter", "to": "foot"})
    assert NumberIntent(value=391).judge(product.text).ok
    assert not NumberIntent(value=390).judge(product.text).ok
    assert NumberIntent(value=39.37, tolerance=0.005).judge(feet.text).ok


def test_an_attempt_by_the_model_is_an_outcome_with_its_call(chat_model, world, tmp_path):
    cases = make_cases(world, 3, "heldout")
    with toolbox(chat_model, tmp_path, [c.tool for c in cases]) as tools:
        outcomes = [attempt(tools[c.tool], c, "model") for c in cases]
        shipped = attempt(tools[cases[0].tool], cases[0], "shipped")
    for outcome, case in zip(outcomes, cases, strict=True):
        assert outcome.case_id == case.id and outcome.reason
        assert outcome.arguments is not None or "Error" in outcome.reason
    assert shipped.path == "shipped" and shipped.arguments is None
