"""The evaluation harness: planners over request sets, several runs each, judged, with pass,
bad-task and completion rates (mean ± standard error over runs) and a report.

Library entry points (no CLI needed):
- `evals.runner.run_eval(planners, requests, runs, judge, out_dir)` → `EvalRunSummary`
- `evals.summary.summarize(run_dir, …)` → `EvalSummary`; `evals.summary.compare(…)`
- `evals.report.write_report(run_dir, …)` → the markdown table, JSON summary and PNG plot
"""
