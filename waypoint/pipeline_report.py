"""The pipeline's report: the evaluations (held-out requests and the real-tool set; tables
and plots from `evals`), the targets the project set for the loop, the agreement of the
quantized planners, the dataset and the wall time of every stage."""

import json
from operator import ge, le
from pathlib import Path
from typing import TYPE_CHECKING, Any

from pydantic import BaseModel

if TYPE_CHECKING:
    from evals.summary import EvalSummary
    from waypoint.pipeline import PipelineState

PIPELINE_MARKDOWN = "pipeline.md"
REAL_REPORT = "real"  # the real-tool evaluation's report, inside the report folder
TARGET_PASS_SHARE = 0.9  # of the expert's pass rate, for the first planner of eval_types
TARGET_COMPLETION = 0.95
TARGET_BAD_TASK = 0.10
TARGET_REAL_PASS = 0.7  # on the hand-written real-tool requests
TARGET_AGREEMENT = 0.95  # same tool as the f16 planner, both run by llama.cpp
TARGET_MINUTES = 30.0


class Target(BaseModel):
    target: str
    measured: float
    met: bool


class PipelineReport(BaseModel):
    markdown: Path
    eval_markdown: Path
    plot: Path
    summary: Path
    targets: list[Target]


def write_pipeline_report(
    eval_dirs: list[Path], real_dir: Path | None, out: Path, state: "PipelineState"
) -> PipelineReport:
    from evals.report import write_report
    from evals.summary import EvalSummary

    files = write_report(eval_dirs, out)
    summary = EvalSummary.model_validate_json(files.summary.read_text())
    sections = [
        "# Pipeline report",
        f"Settings: `{json.dumps(state.config.model_dump(mode='json'))}`",
        "## Evaluation (held-out requests)",
        files.markdown.read_text(),
        f"![metrics]({files.plot.name})",
    ]
    real = None
    if real_dir is not None:
        real_files = write_report(real_dir, out / REAL_REPORT)
        real = EvalSummary.model_validate_json(real_files.summary.read_text())
        sections += [
            "## Evaluation (hand-written requests on the real tools)",
            real_files.markdown.read_text(),
            f"![real-tool metrics]({REAL_REPORT}/{real_files.plot.name})",
        ]
    targets = _targets(summary, real, state)
    sections += [
        "## Targets",
        _table(["target", "measured", "met"], [_row(t) for t in targets]),
        "## Quantized planners against the full-precision model",
        "Greedy plans on held-out prompts. Parse rate to drift: against the merged Hugging "
        "Face model under outlines; the last two columns: against the f16 GGUF, decoded by "
        "the same engine (llama.cpp, our grammar).",
        _table(*_agreement(state)),
        "## Dataset",
        _dataset(state),
        "## Stage wall times",
        _table(["stage", "seconds"], _timings(state)),
    ]
    markdown = out / PIPELINE_MARKDOWN
    markdown.write_text("\n\n".join(sections) + "\n", encoding="utf-8")
    return PipelineReport(
        markdown=markdown, eval_markdown=files.markdown, plot=files.plot, summary=files.summary,
        targets=targets,
    )  # fmt: skip


def _table(header: list[str], rows: list[list[str]]) -> str:
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(row) + " |" for row in rows]
    return "\n".join(lines)


def _mean(summary: "EvalSummary", planner: str, metric: str) -> float | None:
    series = [s for s in summary.series if s.planner == planner]
    return series[0].metrics[metric].mean if series else None


def _targets(
    summary: "EvalSummary", real: "EvalSummary | None", state: "PipelineState"
) -> list[Target]:
    planner = state.stages["evaluate"].result["planners"][0]
    label = state.config.eval_types[0]
    expert = _mean(summary, "expert", "pass_rate")
    tuned = _mean(summary, planner, "pass_rate")
    measured = [  # (target, value or None where not measured, comparison, threshold)
        (f"{label} pass rate ≥ {TARGET_PASS_SHARE} × expert's",
         tuned / expert if expert and tuned is not None else None, ge, TARGET_PASS_SHARE),
        (f"{label} completion ≥ {TARGET_COMPLETION}",
         _mean(summary, planner, "completion_rate"), ge, TARGET_COMPLETION),
        (f"{label} bad-task rate ≤ {TARGET_BAD_TASK}",
         _mean(summary, planner, "bad_task_rate"), le, TARGET_BAD_TASK),
        (f"{label} real-tool pass rate ≥ {TARGET_REAL_PASS}",
         _mean(real, planner, "pass_rate") if real else None, ge, TARGET_REAL_PASS),
        (f"Q4_K_M same tool as f16 ≥ {TARGET_AGREEMENT}",
         _file_agreement(state, "Q4_K_M"), ge, TARGET_AGREEMENT),
        (f"whole pipeline ≤ {TARGET_MINUTES:.0f} min",
         sum(r.seconds for r in state.stages.values()) / 60, le, TARGET_MINUTES),
    ]  # fmt: skip
    return [
        Target(target=target, measured=value, met=meets(value, threshold))
        for target, value, meets, threshold in measured
        if value is not None
    ]


def _row(target: Target) -> list[str]:
    return [target.target, f"{target.measured:.2f}", "yes" if target.met else "**no**"]


def _file_agreement(state: "PipelineState", file_type: str) -> float | None:
    if "verify" not in state.stages:
        return None
    found = [f for f in state.stages["verify"].result["files"] if f["file_type"] == file_type]
    return found[0]["baseline"]["same_tool"] if found and found[0]["baseline"] else None


def _agreement(state: "PipelineState") -> tuple[list[str], list[list[str]]]:
    header = ["file", "type", "MB", "parse rate", "same tool", "task similarity", "identical",
              "log-prob drift", "same tool as f16", "identical to f16"]  # fmt: skip
    report = state.stages["verify"].result
    rows = []
    for f in report["files"]:
        against = f["baseline"] or {}
        rows.append(
            [Path(f["path"]).name + (f" + {Path(f['lora']).name}" if f.get("lora") else ""),
             f["file_type"], f"{f['size_bytes'] / 1e6:.0f}",
             f"{f['parse_rate']:.2f}", f"{f['same_tool']:.2f}", f"{f['task_similarity']:.2f}",
             f"{f['identical']:.2f}", f"{f['logprob_drift']:.3f}",
             _figure(against.get("same_tool")), _figure(against.get("identical"))]
        )  # fmt: skip
    return header, rows


def _figure(value: float | None) -> str:
    return "–" if value is None else f"{value:.2f}"


def _dataset(state: "PipelineState") -> str:
    stats: dict[str, Any] = state.stages["package"].result
    return "```json\n" + json.dumps(stats, indent=2) + "\n```"


def _timings(state: "PipelineState") -> list[list[str]]:
    rows = [[name, f"{record.seconds:.1f}"] for name, record in state.stages.items()]
    rows.append(["**total**", f"{sum(r.seconds for r in state.stages.values()):.1f}"])
    return rows
