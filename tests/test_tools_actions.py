"""The tools that act or talk: send_email and create_event read a spelled-out task by rule
(the bundled model derives the arguments of any other task) and write files; ask_user
reaches a (simulated) user; final_answer returns the planner's answer."""

import email
import email.policy

import pytest
from conftest import searched

from models.matcher import acceptor
from models.structured import grammar_for
from schemas.trajectory import Scratchpad
from tools.ask_user import AskUser
from tools.base import ToolError
from tools.context import ToolContext
from tools.create_event import CreateEvent, Event, parse_event
from tools.files import write_new
from tools.final_answer import FinalAnswer, misstated_measures
from tools.ics import event_ics
from tools.registry import TOOLS, load_tools, tool_class
from tools.send_email import SendEmail


def outbox_message(folder):
    [path] = folder.iterdir()
    assert path.suffix == ".eml"
    return path, email.message_from_string(path.read_text(), policy=email.policy.default)


def test_send_email_reads_a_spelled_out_task_without_a_model(tmp_path):
    tool = SendEmail(None, tmp_path / "outbox")
    task = "Send an e-mail to alice@example.com saying that lunch is at noon."
    observation = tool.run("Tell Alice that lunch is at noon", task, Scratchpad())
    path, message = outbox_message(tmp_path / "outbox")
    assert message["To"] == "alice@example.com"
    assert message.get_content().strip() == "lunch is at noon"
    assert observation.text.startswith("E-mail to alice@example.com with the subject 'Lunch")
    assert str(path) in observation.text


def test_send_email_derives_the_message_when_the_task_does_not_say_it(chat_model, tmp_path):
    tool = SendEmail(chat_model, tmp_path / "outbox")
    observation = tool.run(
        "Tell Alice that lunch is at noon", "Send an e-mail to alice@example.com.", Scratchpad()
    )
    path, message = outbox_message(tmp_path / "outbox")
    assert message["To"].lower() == "alice@example.com"  # the address in the task, copied
    assert message["Subject"] and message.get_content().strip()
    assert str(path) in observation.text
    with pytest.raises(ToolError, match="names no e-mail address"):
        tool.run("Tell Alice", "Send Alice an e-mail.", Scratchpad())  # nothing to copy


def test_send_email_takes_the_address_from_an_earlier_result(chat_model, tmp_path, vocab):
    """A task that names the person, not the address ("E-mail Alice that …"), is sent to an
    address the run has seen: the grammar offers those and no other."""
    found = searched("Find Alice's e-mail address.", "Alice Moro: alice.moro@kelo.org, Kelo.")
    tool = SendEmail(chat_model, tmp_path / "outbox")
    tool.run("Tell Alice that lunch is at noon.", "E-mail Alice that lunch is at noon", found)
    assert outbox_message(tmp_path / "outbox")[1]["To"] == "alice.moro@kelo.org"
    schema = tool.call_schema("Write to bob@example.com.", "E-mail Alice", found)
    accepts = acceptor(vocab, grammar_for(schema))
    call = '{"to":"%s","subject":"Lunch","body":"Lunch is at noon."}'
    assert accepts(call % "alice.moro@kelo.org") and accepts(call % "bob@example.com")
    assert not accepts(call % "alice@kelo.org")


def test_create_event_reads_a_spelled_out_task_without_a_model(tmp_path):
    tool = CreateEvent(None, tmp_path / "calendar")
    task = "Create a calendar event for the team meeting on 2027-03-14 at 10:00 in Room 4."
    observation = tool.run("Put the team meeting in my calendar", task, Scratchpad())
    [path] = (tmp_path / "calendar").iterdir()
    ics = path.read_bytes().decode()  # CRLF line ends, as RFC 5545 wants
    assert ics.startswith("BEGIN:VCALENDAR\r\n") and ics.endswith("END:VCALENDAR\r\n")
    assert "DTSTART:20270314T100000" in ics and "SUMMARY:team meeting" in ics
    assert "LOCATION:Room 4" in ics
    assert "'team meeting' on 2027-03-14 at 10:00 in Room 4" in observation.text
    assert str(path) in observation.text


@pytest.mark.parametrize(
    ("written", "clock"),
    [("at 6:30 pm", "18:30"), ("at 6PM", "18:00"), ("from 12 am", "00:00"), ("at 9:05", "09:05")],
)
def test_create_event_reads_a_12_hour_time_by_rule(written, clock):
    event = parse_event(f"Create an event for the yoga class on 2027-03-14 {written} in Kelo")
    assert (event.start_time, event.location, event.title) == (clock, "Kelo", "yoga class")


def test_create_event_derives_the_event_when_the_task_does_not_say_it(chat_model, tmp_path):
    tool = CreateEvent(chat_model, tmp_path / "calendar")
    observation = tool.run(
        "Put the team meeting in my calendar",
        "Create an event called Team meeting on March 14, 2027 at 10:00 for 30 minutes.",
        Scratchpad(),
    )
    [path] = (tmp_path / "calendar").iterdir()
    ics = path.read_bytes().decode()
    date, time = observation.text.split(" on ", 1)[1].split(" at ")[:2]
    assert f"DTSTART:{date.replace('-', '')}T{time[:5].replace(':', '')}00" in ics
    assert str(path) in observation.text  # what the observation reports is what the file holds


def test_an_event_time_written_with_am_or_pm_is_kept_on_a_24_hour_clock(vocab):
    """The argument grammar lets a tool caller copy the time as the task writes it; the event
    starts at that time on a 24-hour clock."""
    accepts = acceptor(vocab, grammar_for(Event))
    call = (
        '{"title":"Vora Summit","date":"2027-05-14","start_time":"%s",'
        '"duration_minutes":60,"location":""}'
    )
    written = {"6:30 pm": "18:30", "6pm": "18:00", "12 am": "00:00", "12:15pm": "12:15",
               "9:05 am": "09:05", "09:05": "09:05", "23:59": "23:59"}  # fmt: skip
    for text, clock in written.items():
        assert accepts(call % text), text
        assert Event.model_validate_json(call % text).start_time == clock
    assert not any(accepts(call % text) for text in ("13 pm", "6:30", "24:00", "6:75 pm"))


def test_final_answer_is_the_planner_s_answer():
    observation = FinalAnswer().run("What is 17 * 23?", "  17 * 23 = 391.  ", Scratchpad())
    assert observation.final and observation.text == "17 * 23 = 391."
    with pytest.raises(ToolError, match="empty"):
        FinalAnswer().run("What is 17 * 23?", " ", Scratchpad())


NILE = (
    "Nile: The Nile is a river in north-eastern Africa that flows north into the "
    "Mediterranean Sea. At about 6,650 kilometres it is often counted the longest river in "
    "the world. Its two main tributaries are the White Nile and the Blue Nile.\n"
    "Amazon River: The Amazon River in South America carries more water than any other river."
)


@pytest.mark.parametrize(
    "answer",
    [
        "Find the length of the Nile.",  # an earlier step's task: an instruction, no answer
        "The length of the Nile is 4,132 kilometres.",  # a number no result holds
        "The length of the Nile is 6,650 metres.",  # a unit the result never gives it
    ],
)
def test_an_answer_that_holds_nothing_becomes_the_result_sentence_that_answers(answer):
    observation = FinalAnswer().run(
        "How long is the Nile?", answer, searched("Find the length of the Nile.", NILE)
    )
    assert observation.final
    assert observation.text == (
        "Nile: At about 6,650 kilometres it is often counted the longest river in the world."
    )


@pytest.mark.parametrize(
    "answer",
    [
        "The Nile is about 6650 kilometres long.",  # digits grouped or not, the same number
        "The Nile has 2 main tributaries.",  # spelled out in the result
        "The Nile is the longest river.",  # no number to check
        "The Nile has 2 main tributaries, 6650 kilometres in all.",  # units as the results
    ],
)
def test_an_answer_that_states_what_the_results_hold_is_kept(answer):
    observation = FinalAnswer().run(
        "Tell me about the Nile", answer, searched("Find the Nile.", NILE)
    )
    assert observation.text == answer


@pytest.mark.parametrize(
    ("answer", "known", "misstated"),
    [
        ("It is 11,000 kilometres deep.", "It lies 11,000 metres down.", True),
        ("Zufisoze covers 801103 square kilometres.", "801103 people on 404 square km", True),
        ("Zufisoze covers 404 square kilometres.", "on 404 Square Kilometres", False),
        ("The tower is 610 metres tall.", "It rises 610 m above the city.", False),  # one unit
        ("5 kilometres are 5000 metres.", "5 kilometres to metres? 5 * 1000 = 5000", False),
        ("Mozart was 35 years old.", "He died at the age of 35.", False),  # a bare number
    ],
)
def test_a_measure_is_misstated_when_the_run_gives_its_number_another_unit(
    answer, known, misstated
):
    assert bool(misstated_measures(answer, known)) is misstated


FAIR = "Nudremeza Fair: On 2027-03-22, Nifishegi hosts the Nudremeza Fair. About 9,000 come."


@pytest.mark.parametrize(
    ("answer", "kept"),
    [
        ("The date of the Nudremeza Fair is 2027.", False),  # a date cut to its year
        ("The Nudremeza Fair is on 2027-03-22.", True),
    ],
)
def test_a_date_is_one_value(answer, kept):
    request = "When is the Nudremeza Fair?"
    observation = FinalAnswer().run(request, answer, searched("Find the date.", FAIR))
    quoted = "Nudremeza Fair: On 2027-03-22, Nifishegi hosts the Nudremeza Fair."
    assert observation.text == (answer if kept else quoted)


RESULTS = (
    "Drafitritro: The city of Drafitritro (population 774139) was founded in 1754.\n"
    "Rilutrena: The city of Rilutrena (population 948,355) was founded in 1508.\n"
    "Luzoviti Fair: The Luzoviti Fair expects about 27199 visitors.\n"
    "Ora Fair: The Ora Fair expects about 39,158 visitors."
)


@pytest.mark.parametrize(
    ("answer", "verdict"),
    [
        (
            "Drafitritro has more inhabitants: 774139, against 948,355 for Rilutrena.",
            "Rilutrena has more inhabitants: 948,355, against 774139 for Drafitritro.",
        ),
        (
            "Rilutrena is older: founded in 1754, against 1508 for Drafitritro.",
            "Drafitritro is older: founded in 1508, against 1754 for Rilutrena.",
        ),
        (
            "The Luzoviti Fair expects more attendees: 27199, against 39,158 for the Ora Fair.",
            "The Ora Fair expects more attendees: 39,158, against 27199 for the Luzoviti Fair.",
        ),
        (
            "Drafitritro has fewer inhabitants: 948,355, against 774139 for Rilutrena.",
            "Rilutrena has fewer inhabitants: 774139, against 948,355 for Drafitritro.",
        ),
    ],
)
def test_a_verdict_that_its_own_values_contradict_is_turned_round(answer, verdict):
    request = "Of Drafitritro and Rilutrena, which one has more inhabitants?"
    steps = searched("Find the population of Drafitritro.", RESULTS)
    assert FinalAnswer().run(request, answer, steps).text == verdict
    assert FinalAnswer().run(request, verdict, steps).text == verdict  # right: kept as it is


@pytest.mark.parametrize(
    "answer",
    [
        "Rilutrena has 174216 more inhabitants than Drafitritro.",  # no verdict: a difference
        "Rilutrena is nicer: 774139, against 948,355 for Drafitritro.",  # no known comparative
        "Rilutrena is older: 774139 people, against 948,355 for Drafitritro.",  # older, no year
    ],
)
def test_what_is_not_a_verdict_with_a_known_direction_is_left_alone(answer):
    steps = searched("Find the population of Drafitritro.", RESULTS + " 174216 more.")
    assert FinalAnswer().run("Which is bigger?", answer, steps).text == answer


def test_ask_user_puts_the_task_to_the_user():
    questions: list[str] = []

    def user(question: str) -> str:
        questions.append(question)
        return "  My email is bob@example.com \n"

    observation = AskUser(user).run(
        "Email me", "Ask the user for their email address", Scratchpad()
    )
    assert questions == ["Ask the user for their email address"]
    assert observation.text == "My email is bob@example.com" and not observation.final


def test_ask_user_without_a_user_says_so():
    def closed(question: str) -> str:
        raise EOFError

    with pytest.raises(ToolError, match="cannot be asked"):
        AskUser(closed).run("r", "Ask the user", Scratchpad())
    assert AskUser(lambda q: " ").run("r", "Ask", Scratchpad()).text == "(the user did not answer)"


def test_ics_escapes_and_folds():
    from datetime import datetime

    ics = event_ics(
        "Budget; review, Q3", datetime(2025, 3, 14, 10), datetime(2025, 3, 14, 11),
        description="é" * 80,
    )  # fmt: skip
    assert "SUMMARY:Budget\\; review\\, Q3\r\n" in ics
    assert all(len(line.encode()) <= 75 for line in ics.split("\r\n"))
    unfolded = ics.replace("\r\n ", "")
    assert "DESCRIPTION:" + "é" * 80 + "\r\n" in unfolded


@pytest.mark.parametrize("newline", ["\r\n", "\n", "\r"])
def test_calendar_text_cannot_add_properties(newline):
    from datetime import datetime

    from icalendar import Calendar

    title = f"Lunch{newline}DTSTART:20990101T000000{newline}ATTENDEE:mailto:x@example.org"
    ics = event_ics(
        title, datetime(2025, 3, 14, 10), datetime(2025, 3, 14, 11),
        location=f"Room 4{newline}URL:http://example.org", description="a\x00b\x1bc",
    )  # fmt: skip
    body = ics.replace("\r\n ", "")  # unfolded
    assert "\r" not in body.replace("\r\n", "") and "\n" not in body.replace("\r\n", "")
    names = [line.partition(":")[0] for line in body.split("\r\n") if line]
    assert names.count("DTSTART") == 1 and "ATTENDEE" not in names and "URL" not in names
    [event] = Calendar.from_ical(ics).walk("VEVENT")
    assert str(event["SUMMARY"]) == title.replace("\r\n", "\n").replace("\r", "\n")
    assert str(event["DESCRIPTION"]) == "abc"  # control characters are not calendar text


def test_written_files_never_overwrite(tmp_path):
    first = write_new(tmp_path, "Same title", ".txt", "one")
    second = write_new(tmp_path, "Same title", ".txt", "two")
    assert first != second and first.read_text() == "one" and second.read_text() == "two"
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted([first.name, second.name])


def test_the_registry_names_match_the_tools_and_build_lazily(chat_model, tmp_path):
    for name in TOOLS:
        assert tool_class(name).name == name
    context = ToolContext(model=chat_model, home=tmp_path, searxng_url=None)
    names = [tool.name for tool in load_tools(context)]
    assert "search_internet" not in names  # no SearXNG configured: left out of the defaults
    assert names[-1] == "final_answer" and len(names) == len(TOOLS) - 1
    assert not list(tmp_path.iterdir())  # building touched nothing: indexes load on first use
