"""A plan names only what the run has seen: names and addresses snapped to the run's."""

import pytest
from test_agent_loop import ScriptedModel, plan

from planner.agent import Agent
from planner.grounding import Vocabulary, ground
from planner.model_planner import FineTunedPlanner
from schemas.plan import TASK_MAX, PlanRecord
from schemas.trajectory import Exchange, Scratchpad, Step
from tools.base import Observation, Tool
from tools.final_answer import FinalAnswer

REQUEST = "Hi, pleaes let Negu Sababrakre know by e-mail that doso@gemail.org changed."


@pytest.mark.parametrize(
    ("written", "grounded"),
    [
        ("Find the e-mail address of Negu Sabakre.", "Find the e-mail address of Negu Sababrakre."),
        ("Write to knoow@gemail.org.", "Write to doso@gemail.org."),
        ("I sent it to Sabarbrakre's office.", "I sent it to Sababrakre's office."),
        # a long, very close first word of a sentence is a name too
        ("Sababrakrre has been told.", "Sababrakre has been told."),
    ],
)
def test_an_unseen_name_or_address_close_to_a_seen_one_is_snapped(written, grounded):
    assert Vocabulary([REQUEST]).snap(written) == grounded


@pytest.mark.parametrize(
    "written",
    [
        "Find the population of Paris on Monday.",  # names close to nothing seen
        "Find NEGU and sababrakre.",  # seen, whatever the case
        "Calculate 4603 - 4566.",  # the first word of a sentence is no name
        "Sabakre went home.",  # first word, not close enough to snap
        "Ask Neg.",  # too short to tell a typo from another name
        "Send it to bob@example.org.",  # an address nothing like a seen one
    ],
)
def test_text_that_names_nothing_unseen_nearby_stays_as_written(written):
    assert Vocabulary([REQUEST]).snap(written) == written


def record(task: str, tool: str = "search_wikipedia") -> PlanRecord:
    return PlanRecord.model_validate(plan(tool, task))


def step(task: str, observation: str) -> Step:
    return Step(plan=record(task), observation=observation)


def test_observations_and_the_conversation_are_seen_too():
    pad = Scratchpad(steps=[step("Find the boss.", "The boss is Trake Tishebrifa.")])
    history = [Exchange(request="Where is Rilutrena?", answer="Rilutrena is in Tugishupi.")]
    grounded = ground(record("Find Trake Tishebrafa in Tugishopi."), "Who?", pad, history)
    assert grounded.task == "Find Trake Tishebrifa in Tugishupi."
    assert ground(record("Find Trake Tishebrafa."), "Who?", Scratchpad()).task == (
        "Find Trake Tishebrafa."
    )  # nothing seen to snap to


def test_a_snap_never_repeats_a_step_already_taken():
    pad = Scratchpad(steps=[step("Find Negu Sababrakre.", "Nothing found.")])
    written = record("Find Negu Sabakre.")
    assert ground(written, REQUEST, pad) == written
    assert ground(record("Find Negu Sabakre.", "final_answer"), REQUEST, pad).task == (
        "Find Negu Sababrakre."
    )  # another tool: a fresh step


def test_a_snap_past_the_length_bound_leaves_the_plan_as_written():
    written = record("x" * (TASK_MAX - len("Negu Sabakre")) + "Negu Sabakre")
    assert ground(written, REQUEST, Scratchpad()) == written


class People(Tool):
    """Finds a person only under the exact name."""

    name = "search_wikipedia"
    description = "Looks a person up."

    def run(self, request: str, task: str, scratchpad: Scratchpad) -> Observation:
        found = "Negu Sababrakre" in task
        return Observation(text="negu@rigopafu.com" if found else "No article matches.")


@pytest.mark.parametrize("grounded", [True, False])
def test_in_a_run_the_tool_gets_the_snapped_name_and_the_answer_keeps_it(grounded):
    model = ScriptedModel(
        {
            "Plan": [
                plan("search_wikipedia", "Find the e-mail address of Negu Sabakre."),
                plan("final_answer", "Negu Sabakre can be reached at negu@rigopafu.com."),
            ]
        }
    )
    tools = [People(), FinalAnswer()]
    planner = FineTunedPlanner(model, tools, grounded=grounded)
    trajectory = Agent(planner, tools).run(REQUEST)
    found = trajectory.steps[0].observation == "negu@rigopafu.com"
    assert found is grounded
    assert ("Negu Sababrakre can" in (trajectory.answer or "")) is grounded
