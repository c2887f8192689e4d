"""The harness on the atlas world: the expert scores perfectly, a random planner low, every
(planner, run, request) is recorded once, failures included, and a rerun continues."""

import sys
from collections import Counter

import pytest
from conftest import SignalsWhenFreed

from evals.errors import EvalError, EvalInterrupted
from evals.report import markdown, write_report
from evals.request_sets import load_request_set
from evals.runner import run_eval
from evals.store import EvalSettings, RunStore
from evals.summary import EvalSummary, compare, summarize
from planner.baselines import ExpertPlanner
from schemas.errors import WaypointError
from tools.atlas.judge import AtlasJudge

SET = "atlas:5:20"  # every request shape appears in 20


def run(out, planners=("expert",), requests="atlas:5:8", runs=1, **kwargs):
    return run_eval(list(planners), requests, runs, "atlas", out, show_progress=False, **kwargs)


def keys(store: RunStore) -> tuple[Counter, Counter]:
    return Counter(r.key for r in store.trajectories()), Counter(r.key for r in store.ratings())


@pytest.fixture(scope="module")
def baselines(tmp_path_factory):
    out = tmp_path_factory.mktemp("eval") / "baselines"
    return out, run(out, ("expert", "random"), SET, runs=2)


def test_every_planner_run_and_request_is_recorded_and_rated_once(baselines):
    out, summary = baselines
    assert summary.total == summary.written == summary.judged == 2 * 2 * 20
    trajectories, ratings = keys(RunStore.open(out))
    assert len(trajectories) == 80 and set(trajectories.values()) == {1}
    assert ratings == trajectories


def test_the_expert_is_perfect_and_a_random_planner_scores_low(baselines):
    summary = summarize(baselines[0])
    expert, random = summary.find("expert"), summary.find("random")
    assert expert.runs == random.runs == 2 and expert.requests == 20
    perfect = {"pass_rate": 1.0, "bad_task_rate": 0.0, "completion_rate": 1.0, "tool_accuracy": 1.0}
    for key, value in perfect.items():
        assert expert.metrics[key].values == [value, value]
        assert expert.metrics[key].se == 0.0
    assert random.metrics["pass_rate"].mean < 0.3
    assert random.metrics["bad_task_rate"].mean > 0.6
    assert random.metrics["tool_accuracy"].mean < 0.4
    assert sum(random.statuses.values()) == 40 and random.missing == random.unrated == 0


def test_a_rerun_of_a_finished_evaluation_does_nothing(baselines):
    out, _ = baselines
    again = run(out, ("expert", "random"), SET, runs=2)
    assert (again.skipped, again.written, again.judged) == (80, 0, 0)


def test_a_folder_holding_another_evaluation_is_refused(baselines):
    out, _ = baselines
    with pytest.raises(EvalError, match="max_steps: 10 there, 4 now"):
        run(out, ("expert",), SET, settings=EvalSettings(max_steps=4))
    with pytest.raises(EvalError, match="requests: atlas:5:20 there, atlas:5:21 now"):
        run(out, ("expert",), "atlas:5:21")


def test_more_planners_or_runs_extend_a_folder(tmp_path):
    first = run(tmp_path, runs=1)
    more = run(tmp_path, ("expert", "random"), runs=2)
    assert more.skipped == first.written == 8 and more.written == 3 * 8
    assert sorted(s.name for s in summarize(tmp_path).series) == ["expert", "random"]


def test_a_crash_is_recorded_as_a_failed_trajectory_with_its_steps(tmp_path, monkeypatch):
    original = ExpertPlanner.plan

    def crash_on_second_step(self, request, scratchpad, history=(), only=None):
        if request == victim and len(scratchpad.steps) == 1:
            raise RuntimeError("the model fell over")
        return original(self, request, scratchpad, history, only=only)

    victim = next(r.text for r in load_request_set("atlas:5:8").requests if len(r.solution) > 2)
    monkeypatch.setattr(ExpertPlanner, "plan", crash_on_second_step)
    summary = run(tmp_path)
    assert (summary.written, summary.failed, summary.judged) == (8, 1, 8)
    records = RunStore.open(tmp_path).trajectories()
    failed = [r.trajectory for r in records if r.trajectory.status == "failed"]
    assert len(failed) == 1 and failed[0].request == victim
    assert failed[0].reason == "crashed: RuntimeError: the model fell over"
    assert len(failed[0].steps) == 1  # the step finished before the crash is kept
    expert = summarize(tmp_path).find("expert")
    assert expert.metrics["completion_rate"].mean == 7 / 8  # counted, not dropped
    assert expert.metrics["pass_rate"].mean == 7 / 8
    assert expert.statuses == {"answered": 7, "failed": 1}


def test_ctrl_c_keeps_finished_records_and_the_rerun_completes(tmp_path, monkeypatch):
    original, calls = ExpertPlanner.plan, []

    def interrupt_at_call_10(self, request, scratchpad, history=(), only=None):
        calls.append(request)
        if len(calls) == 10:
            raise KeyboardInterrupt
        return original(self, request, scratchpad, history, only=only)

    monkeypatch.setattr(ExpertPlanner, "plan", interrupt_at_call_10)
    with pytest.raises(EvalInterrupted, match="run the same command again"):
        run(tmp_path, runs=2)
    kept, rated = keys(RunStore.open(tmp_path))
    assert 0 < len(kept) < 16 and kept == rated  # finished runs only, each rated
    monkeypatch.setattr(ExpertPlanner, "plan", original)
    summary = run(tmp_path, runs=2)
    assert summary.skipped == len(kept) and summary.written == 16 - len(kept)
    trajectories, ratings = keys(RunStore.open(tmp_path))
    assert len(trajectories) == 16 and set(trajectories.values()) == {1} and ratings == trajectories


def test_a_ctrl_c_swallowed_by_a_finalizer_still_stops_the_evaluation(tmp_path, monkeypatch):
    original, calls = AtlasJudge.judge, []
    reported: list[object] = []  # what Python would print as "Exception ignored in __del__"
    monkeypatch.setattr(sys, "unraisablehook", reported.append)

    def judge_then_signal_at_call_3(self, request, trajectory):
        calls.append(request)
        if len(calls) == 3:
            SignalsWhenFreed()  # freed at once: the signal lands inside its __del__
        return original(self, request, trajectory)

    monkeypatch.setattr(AtlasJudge, "judge", judge_then_signal_at_call_3)
    with pytest.raises(EvalInterrupted, match="run the same command again"):
        run(tmp_path)
    kept, rated = keys(RunStore.open(tmp_path))
    assert len(rated) == 3 and kept == rated  # the run whose judging saw the Ctrl-C is kept
    assert reported == []  # and no traceback came out with it


def test_a_torn_last_line_is_cut_and_its_request_run_again(tmp_path):
    run(tmp_path, requests="atlas:5:4")
    trajectories, ratings = tmp_path / "trajectories.jsonl", tmp_path / "ratings.jsonl"
    lines = ratings.read_text().splitlines(keepends=True)
    ratings.write_text("".join(lines[:-1]))  # the crash came before the last rating
    data = trajectories.read_bytes()
    trajectories.write_bytes(data[: -len(data.splitlines()[-1]) // 2])  # and tore this line
    summary = run(tmp_path, requests="atlas:5:4")
    assert (summary.skipped, summary.written, summary.judged) == (3, 1, 1)
    kept, rated = keys(RunStore.open(tmp_path))
    assert len(kept) == 4 and set(kept.values()) == {1} and rated == kept


def test_a_judge_failure_leaves_the_run_unrated_until_a_rerun(tmp_path, monkeypatch):
    original = AtlasJudge.judge

    def refuse_one(self, request, trajectory):
        if request.id.endswith("00002"):
            raise WaypointError("the judge's verdict was cut off")
        return original(self, request, trajectory)

    monkeypatch.setattr(AtlasJudge, "judge", refuse_one)
    summary = run(tmp_path)
    assert (summary.written, summary.judged, summary.unjudged) == (8, 7, 1)
    assert "cut off" in summary.problems[0]
    expert = summarize(tmp_path).find("expert")
    assert expert.unrated == 1 and expert.metrics["pass_rate"].mean == 1.0  # 7 of 7 rated
    assert "1 trajectories not rated yet" in markdown(summarize(tmp_path))
    monkeypatch.setattr(AtlasJudge, "judge", original)
    again = run(tmp_path)
    assert (again.written, again.judged, again.unjudged) == (0, 1, 0)
    assert summarize(tmp_path).find("expert").unrated == 0


def test_the_report_has_a_table_of_every_planner_a_json_summary_and_a_plot(baselines, tmp_path):
    files = write_report(baselines[0], tmp_path / "report")
    png = files.plot.read_bytes()
    assert png.startswith(b"\x89PNG\r\n\x1a\n") and len(png) > 5_000
    table = files.markdown.read_text()
    assert "| expert | 2 | 20 | 1.00 ± 0.00 | 0.00 ± 0.00 | 1.00 ± 0.00 | 1.00 ± 0.00 |" in table
    assert "\n| random | 2 | 20 |" in table
    summary = EvalSummary.model_validate_json(files.summary.read_text())
    assert [s.name for s in summary.series] == ["expert", "random"]


def test_two_planners_compare_metric_by_metric(baselines):
    comparison = compare(summarize(baselines[0]), "expert", "random")
    p = {m.metric: m.p_value for m in comparison.metrics}
    assert p["bad_task_rate"] is not None and p["bad_task_rate"] < 0.05
    assert p["tokens_per_request"] is None  # neither baseline uses tokens: nothing to test
    with pytest.raises(EvalError, match=r"no planner 'zero-shot' .* there are: expert, random"):
        compare(summarize(baselines[0]), "zero-shot", "expert")


def test_the_same_planner_in_two_folders_is_named_by_its_folder(baselines, tmp_path):
    run(tmp_path)
    summary = summarize([baselines[0], tmp_path])
    names = [s.name for s in summary.series]
    assert names == [f"expert@{baselines[0]}", "random", f"expert@{tmp_path}"]
