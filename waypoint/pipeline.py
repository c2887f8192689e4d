"""One command from simulation to a quantized, evaluated planner.

Stages run in order, each into its own folder under the pipeline folder:

    sim/      requests → trajectories → ratings → dataset    (finetune.simulation)
    train/    the LoRA / QLoRA run: checkpoints, adapter      (finetune.train)
    merged/   base + adapter, a Hugging Face folder           (finetune.merge)
    gguf/     planner.f16.gguf, its quantizations, and the
              adapter as a GGUF LoRA for a GGUF base          (quantize)
    eval/     the held-out evaluation run                     (evals)
    eval-zero-shot/  the base planner on part of it           (evals)
    eval-real/  the real-tool evaluation run                  (evals)
    report/   report.md, report.png, summary.json

`pipeline.json` records every finished stage with its result and wall time. A rerun skips
finished stages and continues an unfinished one where the stage can (trajectories, ratings,
training checkpoints and evaluation records all resume). This module only wires: every
stage is a call into the library folder that owns it.
"""

import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator
from rich.console import Console

from models.bundled import BUNDLED_NAME
from schemas.atomic import write_atomic
from schemas.errors import WaypointError
from tools.atlas.names import MAX_SEED

STATE_FILE = "pipeline.json"
SIM, TRAIN, MERGED, GGUF, EVAL, REPORT = "sim", "train", "merged", "gguf", "eval", "report"
EVAL_BASELINE, EVAL_REAL = "eval-zero-shot", "eval-real"
LORA = "lora"  # in eval_types: the GGUF base with the trained adapter, the form that ships
# The planners a pipeline registers decode as the shipped one does (models/registry.toml):
# forced text token by token, so that what is evaluated is what chat runs, and a greedy plan
# does not hang on whether batched forced text paid in a timing taken at load.
DECODER = "exact"


class PipelineError(WaypointError):
    pass


class PipelineInterrupted(PipelineError):
    exit_code = 130


class PipelineConfig(BaseModel):
    """Every knob of the loop; defaults run the atlas world on a CPU in about half an hour."""

    model_config = ConfigDict(extra="forbid")

    world: Literal["atlas", "llm"] = "atlas"
    base: str = Field(BUNDLED_NAME, description="the model to fine-tune: HF id, folder, GGUF")
    teacher: str | None = Field(None, description="llm world: the teacher's registry name")
    train_seed: int = Field(
        1, ge=0, le=MAX_SEED, description="world (atlas) or generation (llm) seed for training"
    )
    train_requests: int = Field(350, ge=5)
    min_rating: int = Field(
        4, ge=1, le=5, description="train on answered trajectories whose answer is rated ≥ this"
    )
    eval_seed: int = Field(
        2, ge=0, le=MAX_SEED, description="a different seed: entities never seen in training"
    )
    eval_requests: int = Field(40, ge=1)
    eval_runs: int = Field(3, ge=1, description="runs of each fine-tuned planner")
    baseline_requests: int = Field(20, ge=1, description="held-out requests the base runs on")
    baseline_runs: int = Field(1, ge=1, description="runs of the zero-shot base planner")
    eval_temperature: float = Field(0.3, ge=0.0, description="sampling of the model planners")
    eval_max_steps: int = Field(6, ge=1, description="steps per evaluated request")
    real_eval: bool = Field(True, description="also evaluate on the real-tool request set")
    real_requests: int | None = Field(
        None, ge=1, description="the first N real-tool requests (default: all)"
    )
    real_runs: int = Field(1, ge=1, description="runs of every planner on the real tools")
    quant_types: list[str] = Field(default_factory=lambda: ["Q8_0", "Q4_K_M"])
    eval_types: list[str] = Field(
        default_factory=lambda: [LORA],
        description="planners evaluated: quantized files, or lora (the GGUF base with the "
        "trained adapter); every one is verified against the merged model",
    )
    export_dtype: Literal["f16", "bf16", "f32"] = "f16"
    verify_prompts: int = Field(10, ge=1)
    name: str = Field("planner", description="file stem and registry prefix of the planner")
    zero_shot: str | None = Field(
        BUNDLED_NAME, description="the zero-shot baseline's model (registry name or GGUF), or none"
    )
    worked_examples: bool = Field(
        False, description="show the planner the nearest solved request (planner.examples)"
    )
    finetune: dict[str, Any] = Field(
        default_factory=dict, description="training settings (finetune.config.TrainConfig)"
    )

    @model_validator(mode="after")
    def _valid_training_settings(self) -> "PipelineConfig":
        """Fail now on a misspelt training knob, not after the simulation."""
        from finetune.config import TrainConfig

        owned = {"dataset", "eval_dataset", "out", "base"} & self.finetune.keys()
        if owned:
            raise ValueError(f"the pipeline sets {', '.join(sorted(owned))} itself")
        unmade = set(self.eval_types) - set(self.quant_types) - {LORA}
        if unmade:
            raise ValueError(f"eval_types {', '.join(sorted(unmade))} are not in quant_types")
        if LORA in self.eval_types and gguf_base(self.base) is None:
            raise ValueError(f"eval_types {LORA} needs a GGUF base (bundled or a .gguf file)")
        TrainConfig.model_validate({**self.finetune, "dataset": "-", "out": "-"})
        return self


def register_planner(path: Path, name: str, **fields: Any) -> str:
    """A GGUF (with its `lora`, if any) registered as a fine-tuned planner that decodes as the
    shipped one does: what the pipeline makes and what `waypoint export` writes alike."""
    from quantize.register import register

    return register(path, name, planner="fine-tuned", decoder=DECODER, **fields)


def gguf_base(base: str) -> Path | None:
    """The GGUF file a base names (the bundled model, or a .gguf path), else None."""
    if base == BUNDLED_NAME:
        from models.bundled import bundled_model_path

        return bundled_model_path()
    return Path(base).expanduser() if base.endswith(".gguf") else None


class StageRecord(BaseModel):
    seconds: float
    finished: datetime
    result: dict[str, Any] = Field(default_factory=dict)


class PipelineState(BaseModel):
    config: PipelineConfig
    stages: dict[str, StageRecord] = Field(default_factory=dict)


class Pipeline:
    """The stages over one folder; `run()` does whatever is not yet done."""

    def __init__(self, config: PipelineConfig, out: Path, console: Console | None = None) -> None:
        self.config = config
        self.out = out
        self.console = console or Console(stderr=True)
        self.state = self._load_state()
        self._teacher: Any = None

    # -- bookkeeping ------------------------------------------------------------------------

    def _load_state(self) -> PipelineState:
        path = self.out / STATE_FILE
        if not path.is_file():
            return PipelineState(config=self.config)
        state = PipelineState.model_validate_json(path.read_text())
        if state.config != self.config:
            changed = [
                k for k in PipelineConfig.model_fields
                if getattr(state.config, k) != getattr(self.config, k)
            ]  # fmt: skip
            raise PipelineError(
                f"{self.out} holds a pipeline with other settings ({', '.join(changed)}); "
                "use a new --out folder or the same settings to continue it"
            )
        return state

    def _save_state(self) -> None:
        write_atomic(self.out / STATE_FILE, self.state.model_dump_json(indent=2))

    def stages(self) -> list[tuple[str, Callable[[], dict[str, Any]]]]:
        return [
            ("requests", self.requests),
            ("trajectories", self.trajectories),
            ("judge", self.judge),
            ("package", self.package),
            ("finetune", self.finetune),
            ("merge", self.merge),
            ("export", self.export),
            ("quantize", self.quantize),
            ("adapter", self.adapter),
            ("verify", self.verify),
            ("evaluate", self.evaluate),
            ("report", self.report),
        ]

    def run(self) -> PipelineState:
        self._save_state()
        for name, stage in self.stages():
            if name in self.state.stages:
                self.console.print(f"[dim]✓ {name} (done before)[/]")
                continue
            self.console.rule(f"[bold]{name}")
            started = time.perf_counter()
            try:
                result = stage()
            except KeyboardInterrupt:
                raise PipelineInterrupted(
                    f"interrupted in stage {name}; finished stages are kept in {self.out}: "
                    "run the same command to continue"
                ) from None
            seconds = time.perf_counter() - started
            record = StageRecord(seconds=seconds, finished=datetime.now(UTC), result=result)
            self.state.stages[name] = record
            self._save_state()
            self.console.print(f"[green]✓ {name}[/] in {seconds:.1f} s", highlight=False)
        return self.state

    def result(self, stage: str) -> dict[str, Any]:
        return self.state.stages[stage].result

    # -- simulation -------------------------------------------------------------------------

    @property
    def sim(self) -> Path:
        return self.out / SIM

    def teacher(self) -> Any:
        """The teacher model of the llm world, loaded once; None for atlas."""
        if self.config.world == "atlas":
            return None
        if self._teacher is None:
            from models.registry import load_chat_model

            if not self.config.teacher:
                raise PipelineError("the llm world needs a teacher: set teacher = MODEL")
            self._teacher = load_chat_model(self.config.teacher)
        return self._teacher

    def requests(self) -> dict[str, Any]:
        from finetune.simulation import simulate_requests

        made = simulate_requests(
            self.config.world,
            self.sim,
            self.config.train_requests,
            seed=self.config.train_seed,
            teacher=self.teacher(),
        )
        return {"requests": len(made)}

    def trajectories(self) -> dict[str, Any]:
        from finetune.simulation import simulate_trajectories

        summary = simulate_trajectories(self.config.world, self.sim, teacher=self.teacher())
        return summary.model_dump(exclude={"problems"})

    def judge(self) -> dict[str, Any]:
        from finetune.simulation import simulate_judge

        summary = simulate_judge(self.config.world, self.sim, teacher=self.teacher())
        return summary.model_dump(exclude={"problems"})

    def package(self) -> dict[str, Any]:
        from finetune.package import stats_table
        from finetune.simulation import simulate_package

        dataset = simulate_package(
            self.config.world, self.sim, min_rating=self.config.min_rating,
            worked_examples=self.config.worked_examples,
        )  # fmt: skip
        self.console.print(stats_table(dataset.stats))
        return dataset.stats.model_dump(mode="json")

    # -- training and export ----------------------------------------------------------------

    def finetune(self) -> dict[str, Any]:
        from finetune.config import load_config
        from finetune.train import train

        config = load_config(None, self.training_settings())
        resume = (self.out / TRAIN).is_dir() and any((self.out / TRAIN).glob("checkpoint-*"))
        result = train(config, resume=resume, console=self.console)
        return result.model_dump(mode="json", exclude={"losses"})

    def training_settings(self) -> dict[str, Any]:
        """The CPU recipe under the config's `finetune` settings, and the pipeline's own."""
        from finetune.config import CPU_RECIPE, under
        from finetune.simulation import DATASET

        dataset = self.sim / DATASET
        return {
            **under(CPU_RECIPE, self.config.finetune),
            "dataset": str(dataset / "train.jsonl"),
            "eval_dataset": str(dataset / "validation.jsonl"),
            "out": str(self.out / TRAIN),
            "base": self.config.base,
        }

    def merge(self) -> dict[str, Any]:
        import shutil

        from finetune.merge import merge

        merged = self.out / MERGED
        shutil.rmtree(merged, ignore_errors=True)  # a half-written merge from a killed run
        merge(Path(self.result("finetune")["adapter"]), merged)
        return {"merged": str(merged)}

    def export(self) -> dict[str, Any]:
        from quantize.export import export

        path = self.out / GGUF / f"{self.config.name}.{self.config.export_dtype}.gguf"
        path.parent.mkdir(parents=True, exist_ok=True)
        result = export(self.out / MERGED, path, dtype=self.config.export_dtype)
        return result.model_dump(mode="json")

    def quantize(self) -> dict[str, Any]:
        from quantize.quantize import quantize

        source = Path(self.result("export")["path"])
        files = quantize(source, self.config.quant_types)
        registered = {}  # file type → registry name
        for kind, path in [(self.config.export_dtype, source), *((f.type, f.path) for f in files)]:
            name = f"{self.out.name}-{self.config.name}.{kind.lower()}"
            registered[kind] = self._register(path, name)
        return {"files": [f.model_dump(mode="json") for f in files], "registered": registered}

    def adapter(self) -> dict[str, Any]:
        """The adapter as a GGUF LoRA beside a GGUF base, registered as a planner of its own:
        a few MB that llama.cpp applies to the base at load (how the bundled planner ships)."""
        from quantize.lora import export_lora

        base = gguf_base(self.config.base)
        if base is None:
            return {"skipped": "the base is not a GGUF file"}
        path = self.out / GGUF / f"{self.config.name}.lora.gguf"
        result = export_lora(Path(self.result("finetune")["adapter"]), path)
        name = f"{self.out.name}-{self.config.name}.{LORA}"
        registered = self._register(base, name, lora=str(path.resolve()))
        return {**result.model_dump(mode="json"), "base": str(base), "registered": registered}

    def _register(self, path: Path, name: str, **fields: Any) -> str:
        """A planner this run made, in the user registry, with its worked examples if any."""
        from finetune.package import EXAMPLES
        from finetune.simulation import DATASET

        if self.config.worked_examples:
            fields["examples"] = str((self.sim / DATASET / EXAMPLES).resolve())
        return register_planner(path, name, pipeline=str(self.out), **fields)

    def verify(self) -> dict[str, Any]:
        from finetune.simulation import DATASET, tool_names
        from quantize.validation import atlas_prompts, read_prompts
        from quantize.verify import PlannerFiles, verify

        full = Path(self.result("export")["path"])
        files: list[Path | PlannerFiles] = [
            full,
            *(Path(f["path"]) for f in self.result("quantize")["files"]),
        ]
        adapter = self.result("adapter")
        if "path" in adapter:
            files.append(PlannerFiles(path=Path(adapter["base"]), lora=Path(adapter["path"])))
        if self.config.world == "atlas":
            prompts = atlas_prompts(self.config.verify_prompts)
        else:
            validation = self.sim / DATASET / "validation.jsonl"
            prompts = read_prompts(validation, self.config.verify_prompts)
        names = tool_names(self.config.world)
        report = verify(self.out / MERGED, files, prompts, names, baseline=full)
        return report.model_dump(mode="json")

    # -- evaluation -------------------------------------------------------------------------

    def fine_tuned_planners(self) -> list[str]:
        """The evaluated planners (`eval_types`), as evals specs of their registry names."""
        registered = {**self.result("quantize")["registered"]}
        if "registered" in self.result("adapter"):
            registered[LORA] = self.result("adapter")["registered"]
        return [f"fine-tuned:{registered[kind]}" for kind in self.config.eval_types]

    def evaluate(self) -> dict[str, Any]:
        """The held-out evaluation (with the expert where the world has one) and the
        real-tool set, each beside the zero-shot base."""
        from evals.request_sets import REAL, RequestSet, load_request_set

        spec, judge = self.eval_requests()
        held_out = load_request_set(spec)
        tuned = self.fine_tuned_planners()
        expert = ["expert"] if self.config.world == "atlas" else []
        zero = [f"zero-shot:{self.config.zero_shot}"] if self.config.zero_shot else []
        jobs = [(EVAL, held_out, judge, expert + tuned, self.config.eval_runs)]
        if zero:  # the untrained base needs no error bar to show where it stands
            first = held_out.requests[: self.config.baseline_requests]
            baseline = RequestSet(held_out.spec, held_out.world, first)
            jobs.append((EVAL_BASELINE, baseline, judge, zero, self.config.baseline_runs))
        if self.config.real_eval:
            count = self.config.real_requests
            real = load_request_set(f"{REAL}:{count}" if count else REAL)
            jobs.append((EVAL_REAL, real, None, tuned + zero, self.config.real_runs))
        summaries: dict[str, Any] = {"planners": tuned}
        for folder, requests, judge_name, planners, runs in jobs:
            summaries[folder] = self._run_eval(folder, requests, judge_name, planners, runs)
        return summaries

    def _run_eval(
        self, folder: str, requests: Any, judge: str | None, planners: list[str], runs: int
    ) -> dict[str, Any]:
        from evals.runner import run_eval
        from evals.store import EvalSettings

        settings = EvalSettings(
            temperature=self.config.eval_temperature, seed=self.config.eval_seed,
            max_steps=self.config.eval_max_steps,
        )  # fmt: skip
        summary = run_eval(planners, requests, runs, judge, self.out / folder, settings=settings)
        return summary.model_dump(mode="json", exclude={"problems"})

    def eval_requests(self) -> tuple[str, str]:
        """(request set, judge): held-out atlas requests of another world, or a teacher's
        requests generated with another seed."""
        if self.config.world == "atlas":
            return f"atlas:{self.config.eval_seed}:{self.config.eval_requests}:heldout", "atlas"
        from finetune.simulation import simulate_requests

        folder = self.out / EVAL / "requests"
        if not (folder / "requests.jsonl").is_file():
            simulate_requests(
                "llm", folder, self.config.eval_requests, seed=self.config.eval_seed,
                teacher=self.teacher(),
            )  # fmt: skip
        return str(folder), str(self.config.teacher)

    def report(self) -> dict[str, Any]:
        from rich.markdown import Markdown

        from waypoint.pipeline_report import write_pipeline_report

        held_out = [self.out / EVAL]
        if self.config.zero_shot:
            held_out.append(self.out / EVAL_BASELINE)
        real = self.out / EVAL_REAL if self.config.real_eval else None
        files = write_pipeline_report(held_out, real, self.out / REPORT, self.state)
        self.console.print(Markdown(files.eval_markdown.read_text()))
        return files.model_dump(mode="json")
