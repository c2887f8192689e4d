"""Reports of run folders: a markdown table, the JSON summary and a PNG plot.

OUT/report.md     the table: every metric per planner, mean ± standard error over runs, and
                  the pass rate per request shape (a held-out shape apart) where shapes exist
OUT/summary.json  `EvalSummary`: the numbers behind the table, per run too
OUT/metrics.png   bars with standard-error whiskers, one group per rate metric
"""

import math
from collections.abc import Sequence
from pathlib import Path

from pydantic import BaseModel

from evals.metrics import METRICS, Estimate
from evals.summary import Comparison, EvalSummary, summarize
from tools.atlas.requests import HELD_OUT_SHAPES

REPORT_DIR = "report"
MARKDOWN, SUMMARY, PLOT = "report.md", "summary.json", "metrics.png"
NONE = "–"


class ReportFiles(BaseModel):
    markdown: Path
    summary: Path
    plot: Path


def format_estimate(estimate: Estimate, digits: int = 2) -> str:
    """`0.89 ± 0.02`; the mean alone from a single run; a dash when nothing was measured."""
    if estimate.mean is None:
        return NONE
    if estimate.se is None:
        return f"{estimate.mean:.{digits}f}"
    return f"{estimate.mean:.{digits}f} ± {estimate.se:.{digits}f}"


def _table(header: Sequence[str], rows: Sequence[Sequence[str]]) -> str:
    lines = [header, ["---"] * len(header), *rows]
    return "\n".join("| " + " | ".join(cells) + " |" for cells in lines)


def markdown_table(summary: EvalSummary) -> str:
    header = ["planner", "runs", "requests", *(m.title for m in METRICS), "failed", "incomplete"]
    rows = [
        [
            s.name,
            str(s.runs),
            str(s.requests),
            *(format_estimate(s.metrics[m.key], m.digits) for m in METRICS),
            str(s.statuses.get("failed", 0)),
            str(s.statuses.get("incomplete", 0)),
        ]
        for s in summary.series
    ]
    return _table(header, rows)


def shape_table(summary: EvalSummary) -> str | None:
    """Pass rate per request shape, one column per planner; the shapes held out of training
    are marked and left out of the "trained shapes" row. None when no request has a shape."""
    shapes = sorted({shape for s in summary.series for shape in s.pass_by_shape})
    if not shapes:
        return None
    none = Estimate(mean=None, se=None, values=[])

    def label(shape: str) -> str:
        return f"{shape} (held-out shape)" if shape in HELD_OUT_SHAPES else shape

    rows = [
        [label(shape), *(format_estimate(s.pass_by_shape.get(shape, none)) for s in summary.series)]
        for shape in shapes
    ]
    rows.append(
        [
            "**trained shapes**",
            *(format_estimate(s.pass_trained_shapes or none) for s in summary.series),
        ]
    )
    return _table(["shape", *(s.name for s in summary.series)], rows)


def notes(summary: EvalSummary) -> list[str]:
    """What a reader must know before trusting the table: work not finished or not rated."""
    found = []
    for s in summary.series:
        if s.missing:
            found.append(f"{s.name}: {s.missing} (run, request) pairs not run yet")
        if s.unrated:
            found.append(f"{s.name}: {s.unrated} trajectories not rated yet")
    return found


def markdown(summary: EvalSummary) -> str:
    lines = [
        f"# Evaluation: {', '.join(summary.run_dirs)}",
        "",
        markdown_table(summary),
        "",
        "Mean ± standard error over runs. Pass rate: answers rated ≥ 4; bad-task rate: steps "
        "whose task is rated ≤ 3; completion rate: requests answered within 10 steps; tool "
        "accuracy: steps choosing the gold tool. Failed and incomplete runs count as "
        "unanswered.",
    ]
    if by_shape := shape_table(summary):
        lines += ["", "## Pass rate by request shape", "", by_shape]
    if found := notes(summary):
        lines += ["", "Not yet complete:", *(f"- {n}" for n in found)]
    return "\n".join(lines) + "\n"


def comparison_table(comparison: Comparison) -> str:
    metrics = {m.key: m for m in METRICS}
    rows = []
    for row in comparison.metrics:
        metric = metrics[row.metric]
        p = NONE if row.p_value is None else f"{row.p_value:.3g}"
        a, b = format_estimate(row.a, metric.digits), format_estimate(row.b, metric.digits)
        rows.append([metric.title, a, b, p])
    return _table(["metric", comparison.a, comparison.b, "p (Welch)"], rows)


def plot(summary: EvalSummary, path: Path) -> None:
    """Grouped bars: one group per rate metric, one bar per planner, standard-error whiskers."""
    import matplotlib

    matplotlib.use("Agg")  # files only: no display on a server or in CI
    import matplotlib.pyplot as plt

    rates = [  # a metric nothing measured (tool accuracy without gold) gets no group
        m
        for m in METRICS
        if m.rate and any(s.metrics[m.key].mean is not None for s in summary.series)
    ]
    width = 0.8 / max(len(summary.series), 1)
    figure, axes = plt.subplots(figsize=(2.2 * len(rates) + 2, 4.2))
    for i, series in enumerate(summary.series):
        estimates = [series.metrics[m.key] for m in rates]
        axes.bar(
            [g + (i - (len(summary.series) - 1) / 2) * width for g in range(len(rates))],
            [math.nan if e.mean is None else e.mean for e in estimates],  # nan: no bar
            width,
            yerr=[e.se or 0.0 for e in estimates],
            capsize=3,
            label=series.name,
        )
    axes.set_xticks(
        range(len(rates)), [m.title + ("" if m.higher_is_better else " ↓") for m in rates]
    )
    axes.set_ylim(0, 1.05)
    axes.set_ylabel("share (mean ± s.e. over runs; ↓ lower is better)")
    axes.legend(fontsize="small", loc="upper center", bbox_to_anchor=(0.5, -0.1), ncol=2)
    figure.tight_layout()
    figure.savefig(path, dpi=120)
    plt.close(figure)


def write_report(run_dirs: Path | Sequence[Path], out_dir: Path | None = None) -> ReportFiles:
    """Summarise the run folders and write the three files to `out_dir` (default: the
    `report` folder of the first run folder)."""
    summary = summarize(run_dirs)
    out = out_dir or Path(summary.run_dirs[0]) / REPORT_DIR
    out.mkdir(parents=True, exist_ok=True)
    files = ReportFiles(markdown=out / MARKDOWN, summary=out / SUMMARY, plot=out / PLOT)
    files.markdown.write_text(markdown(summary), encoding="utf-8")
    files.summary.write_text(summary.model_dump_json(indent=2), encoding="utf-8")
    plot(summary, files.plot)
    return files
