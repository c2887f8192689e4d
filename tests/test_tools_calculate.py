"""The safe calculator: a table of expressions, hostile input refused at once, expressions
found in task text, and the calculate tool on both of its paths."""

import pytest
from conftest import searched

from models.matcher import acceptor
from models.structured import grammar_for
from schemas.trajectory import Scratchpad
from tools.arithmetic import ExpressionError, evaluate, find_expression, format_number, numbers_in
from tools.base import ToolError
from tools.calculate import FACTORS, Calculate

TABLE = [
    ("17 * 23", "391"),
    ("2 ** 10", "1024"),
    ("2024 - 1889", "135"),
    ("10 / 4", "2.5"),
    ("7 // 2", "3"),
    ("7 % 3", "1"),
    ("-3 + +5", "2"),
    ("(1 + 2) * (3 + 4)", "21"),
    ("sqrt(144)", "12"),
    ("factorial(20)", "2432902008176640000"),
    ("round(2 / 3, 3)", "0.667"),
    ("max(3, 9, 4) - min(3, 9, 4)", "6"),
    ("log(8, 2)", "3"),
    ("2 * pi", "6.28318530718"),
    ("1.5e3 + 1", "1501"),
    ("2 ** -2", "0.25"),
    ("0.1 + 0.2", "0.3"),
    ("10 ** 20", "100000000000000000000"),
]


@pytest.mark.parametrize(("expression", "value"), TABLE)
def test_the_table(expression, value):
    assert format_number(evaluate(expression)) == value


HOSTILE = [
    ("__import__('os')", "not defined"),
    ("__import__('os').system('true')", "not available"),
    ("().__class__.__bases__[0].__subclasses__()", "not available"),
    ("(1).real", "not available"),
    ("open('/etc/passwd')", "not defined"),
    ("9**9**9", "more than 1000 digits"),
    ("10**10**10", "more than 1000 digits"),
    ("(10**100)**100", "more than 1000 digits"),
    ("factorial(100000)", "more than 1000 digits"),
    ("factorial(10**9)", "more than 1000 digits"),
    ("factorial(-1)", "whole number"),
    ("(10**500) * (10**600)", "more than 1000 digits"),
    ("exp(1000)", "overflows"),
    ("1e308 * 10", "no finite value"),
    ("1 / 0", "division by zero"),
    ("'a' * 10**9", "only numbers"),
    ("True + 1", "only numbers"),
    ("2j", "only numbers"),
    ("[1] * 10**9", "not available"),
    ("lambda: 1", "not available"),
    ("x = 1", "not an arithmetic expression"),
    ("sqrt(-1)", "math domain error"),
    ("(-8) ** (1 / 3)", "no real value"),
    ("abs(x=1)", "positional"),
    ("1 + " * 100 + "1", "longer than 200 characters"),
]


# Refused before any work: 9**9**9 computed would run for hours, so the timeout is only a
# guard that turns a regression into a failure instead of a hung run.
@pytest.mark.timeout(60, method="thread")
@pytest.mark.parametrize(("expression", "message"), HOSTILE)
def test_hostile_input_is_refused_with_a_clear_message(expression, message):
    with pytest.raises(ExpressionError, match=message) as caught:
        evaluate(expression)
    assert isinstance(caught.value, ToolError)  # the agent shows it to the planner


@pytest.mark.parametrize(
    ("text", "expression"),
    [
        ("What is 17 * 23?", "17 * 23"),
        ("Calculate (3 + 4)^2.", "(3 + 4)**2"),
        ("Multiply 1,250 * 4", "1250 * 4"),
        ("What is 12 × 3 ÷ 4", "12 * 3 / 4"),
        ("Calculate max(29,224, 61626).", "max(29224, 61626)"),  # a call is a calculation
        ("What is sqrt(2)?", "sqrt(2)"),
        ("In 2024, 3 + 4", "3 + 4"),  # a comma outside a call separates values
        ("Add 3, 4 and 5", None),
        ("Subtract 1889 from 2024", None),  # words, not an expression: the model's job
        ("The meeting is on 2024-12-25", None),  # a date, not a subtraction
        ("Add 3 + 4 and then 5 * 6", None),  # two expressions: ambiguous
        ("15% of 200", "15 / 100 * 200"),  # percent, not modulo
        ("How much is 12.5 per cent of 1,600?", "12.5 / 100 * 1600"),
        ("What is 40 percent of 5?", "40 / 100 * 5"),
        ("It rose 15% in 2024", None),  # a percent of nothing is no calculation
        ("What year is it?", None),
    ],
)
def test_finding_the_expression_in_a_task(text, expression):
    assert find_expression(text) == expression


def test_calculate_uses_the_expression_written_in_the_task():
    observation = Calculate().run("What is 17 * 23?", "Calculate 17 * 23", Scratchpad())
    assert observation.text == "17 * 23 = 391" and not observation.final


@pytest.mark.parametrize(
    ("task", "observation"),
    [
        ("Convert 408 months to years.", "408 months = 34 years"),
        ("Express 1,500 millilitres in litres", "1500 millilitres = 1.5 litres"),
        (
            "Turn 2 square kilometres into square metres.",
            "2 square kilometres = 2000000 square metres",
        ),
        ("Calculate 50% of 900.", "50 / 100 * 900 = 450"),
        ("How many seconds are there in 3 hours?", "3 hours = 10800 seconds"),
        ("How many square metres are in 2 hectares", "2 hectares = 20000 square metres"),
        ("How many days are 6 weeks?", "6 weeks = 42 days"),
        ("How many minutes are in an hour?", "1 hour = 60 minutes"),
    ],
)
def test_calculate_converts_units_and_takes_percentages_without_a_model(task, observation):
    assert Calculate().run(task, task, Scratchpad()).text == observation


@pytest.mark.parametrize(
    "task",
    [
        "Convert 3 kilograms to metres",
        "Find the population of Rome in 2024",
        "Convert 3 apples to pears",
        "How many times does 38 go into 3420?",
        "How many people live in 3 cities?",
    ],
)
def test_what_is_not_a_conversion_is_left_to_the_model(task):
    with pytest.raises(ToolError, match="no arithmetic expression"):
        Calculate().run(task, task, Scratchpad())


@pytest.mark.parametrize(
    ("request_text", "task", "observation"),
    [
        (
            "ok, how much is 50 per cent of 900?",
            "Calculate 900 / 100 * 100.",
            "50 / 100 * 900 = 450",
        ),
        ("Convert 3 miles to kilometres.", "Calculate 3 * 1000.", "3 miles = 4.828032 kilometres"),
    ],
)
def test_a_task_with_a_made_up_number_gives_way_to_the_request_s_calculation(
    request_text, task, observation
):
    assert Calculate().run(request_text, task, Scratchpad()).text == observation


def test_a_factor_the_request_does_not_state_stays_when_it_gives_the_request_s_value():
    observation = Calculate().run(
        "Convert 408 months to years.", "Calculate 408 / 12.", Scratchpad()
    )
    assert observation.text == "408 / 12 = 34"


def test_numbers_from_the_request_or_the_results_are_not_made_up():
    # 2050 is the request's and 1964 a result's; the request writes out no calculation
    tower = searched("Find Dope Gipekaru.", "Dope Gipekaru (born 1964) is a teacher.")
    task = "Calculate 2050 - 1964."
    observation = Calculate().run("How old is Dope Gipekaru in 2050?", task, tower)
    assert observation.text == "2050 - 1964 = 86"
    # a number nobody stated stays when the request has no calculation of its own
    assert Calculate().run("How old is he?", "Calculate 2026 - 1964.", tower).text == (
        "2026 - 1964 = 62"
    )


def test_calculate_without_a_model_says_what_is_missing():
    with pytest.raises(ToolError, match="no arithmetic expression"):
        Calculate().run(
            "How old is the tower in 2024?", "Subtract the year built from 2024", Scratchpad()
        )


class _NoModel:
    def __getattr__(self, name):
        raise AssertionError(f"the model was used ({name}) for a calculation with no numbers")


@pytest.mark.parametrize(
    ("request_text", "task"),
    [
        ("What is the speed of light in a vacuum?", "Calculate 2 * 2."),  # numbers made up
        ("How far is the Moon from Earth on average?", "Find the average distance of the Moon."),
    ],
)
def test_a_calculation_needs_a_number_the_run_has_seen(request_text, task):
    with pytest.raises(ToolError, match="find the numbers first"):
        Calculate(_NoModel()).run(request_text, task, Scratchpad())


def test_a_constant_the_request_implies_is_worked_out():
    # "a day" is one day: the request's own conversion backs the planner's factors
    observation = Calculate().run(
        "How many seconds are there in a day?", "Calculate 24 * 60 * 60.", Scratchpad()
    )
    assert observation.text == "24 * 60 * 60 = 86400"


def test_numbers_written_in_words_are_numbers_the_text_states():
    assert numbers_in("86 less than seven hundred and sixty-three") == {"86", "763"}
    assert numbers_in("Eighteen less than twenty-five, two moons, 1,250 people") == {
        "18", "25", "2", "1250"
    }  # fmt: skip
    assert numbers_in("on 2027-03-22, the twenty-third") == {"2027-03-22", "23"}


def _two_cities() -> Scratchpad:
    first = searched("Find Kelo.", "Kelo is a city of 1,901,359 people.")
    second = searched("Find Vora.", "Vora has a population of 948,355.")
    return Scratchpad(steps=[*first.steps, *second.steps])


def test_a_derived_expression_can_only_use_numbers_the_run_has_seen(vocab):
    """The grammar a model writes an expression under admits well-formed arithmetic on the
    run's numbers (digits or words) and a few implied factors, each whole: none made up,
    mistyped or glued to another, no parenthesis left open and no comma outside a call."""
    request = "Add the populations of Kelo and Vora, then take seven hundred and sixty-three."
    schema = Calculate().call_schema(request, "Combine the two populations", _two_cities())
    accepts = acceptor(vocab, grammar_for(schema))
    call = '{"expression":"%s"}'
    for good in ("1901359+948355", "(1901359 + 948355) / 2", "1901359+948355-763",
                 "sqrt(948355)*100", "log10(1000)", "-763", "max(1901359, 948355) // 2",
                 "round((1901359 - 948355) / 2) ** 2"):  # fmt: skip
        assert accepts(call % good), good
    for bad in ("190135+948355", "1901359948355", "1901359+948355-764", "948355.5",
                "7000", "", '1901359","x":"1', "1000,24", "(1901359 + 948355", "763)",
                "sqrt 948355", "(1901359, 948355)", "1901359 +* 948355", "2(763)",
                "pi * 2"):  # fmt: skip
        assert not accepts(call % bad), bad
    assert {"2", "12", "24", "60", "100", "365", "1000"} <= FACTORS


def test_the_model_writes_an_expression_from_the_run_s_numbers(chat_model):
    tool = Calculate(chat_model)
    observation = tool.run("Add up the populations of Kelo and Vora.",
                           "Combine the two populations", _two_cities())  # fmt: skip
    expression = observation.text.rsplit(" = ", 1)[0]
    assert numbers_in(expression) <= {"1901359", "948355"} | FACTORS, observation.text
