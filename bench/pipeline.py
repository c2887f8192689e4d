"""Wall time of every stage of the atlas pipeline on this machine.

Runs `waypoint pipeline` (the library, same stages and settings) into --out, or reads the
timings of a pipeline already finished there (its stages are not redone), and prints one
JSON object: seconds per stage, the total, and the half-hour target.

    python bench/pipeline.py --out runs/pipeline-bench
    python bench/pipeline.py --out runs/tiny --set train_requests=10 --set finetune.max_steps=2
"""

import argparse
import json
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from rich.console import Console

from schemas.settings import load_settings
from waypoint.commands.pipeline import parse_sets
from waypoint.pipeline import Pipeline, PipelineConfig
from waypoint.pipeline_report import TARGET_MINUTES


def main() -> None:
    raw = argparse.RawDescriptionHelpFormatter
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=raw)
    parser.add_argument("--out", type=Path, required=True, help="pipeline folder")
    parser.add_argument("--config", type=Path, help="pipeline TOML")
    parser.add_argument("--set", action="append", default=[], help="KEY=VALUE, repeatable")
    args = parser.parse_args()
    config = load_settings(PipelineConfig, args.config, parse_sets(args.set), "pipeline config")
    state = Pipeline(config, args.out, Console(stderr=True)).run()
    seconds = {name: round(record.seconds, 1) for name, record in state.stages.items()}
    total = sum(seconds.values())
    print(json.dumps({
        "stages_seconds": seconds,
        "total_seconds": round(total, 1),
        "total_minutes": round(total / 60, 2),
        "target_minutes": TARGET_MINUTES,
        "train_requests": config.train_requests,
        "eval_requests": config.eval_requests,
        "eval_runs": config.eval_runs,
    }))  # fmt: skip


if __name__ == "__main__":
    main()
