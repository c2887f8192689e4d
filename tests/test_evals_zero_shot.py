"""The bundled model's planners through the whole harness: loaded by name, run on atlas
requests under their plan grammar, judged, stored, summarised. A 135M model plans poorly,
so this checks that every run is accounted for and well-formed, not the scores."""

from evals.report import markdown_table
from evals.runner import run_eval
from evals.store import EvalSettings, RunStore
from evals.summary import summarize
from models.registry import DEFAULT_MODEL
from schemas.awareness import MODES
from tools.atlas.tools import ATLAS_TOOL_NAMES

LABEL = f"zero-shot:{DEFAULT_MODEL}"
SETTINGS = EvalSettings(max_steps=1)  # one step: a CPU test, not a benchmark


def test_the_bundled_zero_shot_planner_runs_through_the_harness(tmp_path):
    summary = run_eval(
        ["zero-shot"], "atlas:5:2", 1, "atlas", tmp_path, settings=SETTINGS, show_progress=False
    )
    assert (summary.written, summary.judged, summary.unjudged) == (2, 2, 0)
    store = RunStore.open(tmp_path)
    records = store.trajectories()
    assert sorted(r.trajectory.request_id for r in records) == [
        r.id for r in store.request_set().requests
    ]
    for record in records:
        trajectory = record.trajectory
        assert record.planner == trajectory.meta.planner == LABEL
        assert trajectory.meta.model == DEFAULT_MODEL and trajectory.meta.run == 0
        assert len(trajectory.steps) <= SETTINGS.max_steps
        assert all(s.plan.tool in ATLAS_TOOL_NAMES for s in trajectory.steps)
        if trajectory.steps:  # a plan was made, so the model was really asked
            assert trajectory.prompt_tokens > 0 and trajectory.completion_tokens > 0
        if trajectory.status == "answered":
            assert trajectory.answer == trajectory.steps[-1].observation
        else:
            assert trajectory.answer is None and trajectory.reason
    planned = [r.trajectory for r in records if r.trajectory.steps]
    assert planned, [r.trajectory.reason for r in records]  # the planner did plan
    assert len(store.ratings()) == 2
    series = summarize(tmp_path).find(LABEL)
    assert series.trajectories == 2 and series.metrics["pass_rate"].mean is not None
    assert f"| {LABEL} | 1 | 2 |" in markdown_table(summarize(tmp_path))
    again = run_eval(
        ["zero-shot"], "atlas:5:2", 1, "atlas", tmp_path, settings=SETTINGS, show_progress=False
    )
    assert (again.skipped, again.written) == (2, 0)


def test_a_self_aware_planner_records_its_mode_and_the_rules_at_every_step(tmp_path):
    summary = run_eval(
        ["self-aware"], "atlas:5:2", 1, "atlas", tmp_path, settings=SETTINGS, show_progress=False
    )
    assert (summary.written, summary.judged) == (2, 2)
    steps = [s for r in RunStore.open(tmp_path).trajectories() for s in r.trajectory.steps]
    assert steps, "the planner did plan"
    for step in steps:
        assert step.awareness is not None and step.awareness.mode in MODES
        assert step.awareness.retrieved  # rules are retrieved whether consulted or not
    label = f"self-aware:{DEFAULT_MODEL}"
    assert summarize(tmp_path).find(label).trajectories == 2
