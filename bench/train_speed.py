"""Training speed of `finetune.train` on this machine, as JSON.

CPU: training tokens/s of LoRA on the bundled SmolLM2-135M, fp32 and bf16 weights side by
side, on planner-shaped examples. CUDA (when present): QLoRA step time and peak GPU memory
for a 7B-shaped Llama with random weights (its shape, not its knowledge, sets the cost).

The examples come from a small synthetic planner world (fictional cities; lookups, sums,
e-mails, ages; 2–4 steps each), independent of the atlas world. `--write-dataset` writes
them as SFT JSONL, which is how the smoke fine-tune in the finetune README is rerun:

    python bench/train_speed.py --write-dataset runs/toy.jsonl --requests 120
    python bench/train_speed.py                      # the speed figures
"""

import argparse
import json
import random
import tempfile
import time
from pathlib import Path

from rich.console import Console

from finetune.config import TrainConfig
from finetune.train import train
from planner.prompts import fine_tuned_messages
from schemas.chat import assistant
from schemas.dataset import SFTExample
from schemas.plan import PlanRecord
from schemas.trajectory import Scratchpad, Step

_SYLLABLES = ["ka", "lo", "mir", "ta", "ven", "sul", "dra", "qui", "bor", "nel", "zan", "pe"]


def _name(rng: random.Random) -> str:
    return "".join(rng.choice(_SYLLABLES) for _ in range(rng.randint(2, 3))).capitalize()


def _city(rng: random.Random) -> dict:
    mayor = f"{_name(rng)} {_name(rng)}"
    return {
        "name": _name(rng),
        "population": rng.randint(2_000, 900_000),
        "mayor": mayor,
        "email": mayor.lower().replace(" ", ".") + "@city.example",
        "founded": rng.randint(1200, 1990),
    }


def _plan(context: str, thoughts: str, task: str, tool: str) -> PlanRecord:
    return PlanRecord(context=context, thoughts=thoughts, task=task, tool=tool)


def _population(a: dict, b: dict) -> tuple[str, list[tuple[PlanRecord, str]]]:
    return f"What is the population of {a['name']}?", [
        (
            _plan("Nothing is known yet.", f"I need the population of {a['name']}.",
                  f"Find the population of {a['name']}.", "search_wikipedia"),
            f"{a['name']} has a population of {a['population']}.",
        ),
        (
            _plan(f"{a['name']} has {a['population']} inhabitants.", "I can answer now.",
                  f"Tell the user that {a['name']} has {a['population']} inhabitants.",
                  "final_answer"),
            "",
        ),
    ]  # fmt: skip


def _sum(a: dict, b: dict) -> tuple[str, list[tuple[PlanRecord, str]]]:
    total = a["population"] + b["population"]
    return f"How many people live in {a['name']} and {b['name']} together?", [
        (
            _plan("Nothing is known yet.", "I need both populations, one at a time.",
                  f"Find the population of {a['name']}.", "search_wikipedia"),
            f"{a['name']} has a population of {a['population']}.",
        ),
        (
            _plan(f"{a['name']}: {a['population']}.", f"Next, {b['name']}.",
                  f"Find the population of {b['name']}.", "search_wikipedia"),
            f"{b['name']} has a population of {b['population']}.",
        ),
        (
            _plan(f"{a['name']}: {a['population']}; {b['name']}: {b['population']}.",
                  "Add them up.", f"Compute {a['population']} + {b['population']}.", "calculate"),
            str(total),
        ),
        (
            _plan(f"Together {total}.", "I can answer now.",
                  f"Tell the user that {total} people live in both cities.", "final_answer"),
            "",
        ),
    ]  # fmt: skip


def _email(a: dict, b: dict) -> tuple[str, list[tuple[PlanRecord, str]]]:
    return f"Invite the mayor of {a['name']} to the opening of the new library.", [
        (
            _plan("Nothing is known yet.", "I need the mayor's e-mail address.",
                  f"Find the e-mail address of the mayor of {a['name']}.", "search_wikipedia"),
            f"The mayor of {a['name']} is {a['mayor']} ({a['email']}).",
        ),
        (
            _plan(f"Mayor: {a['mayor']}, {a['email']}.", "Write the invitation.",
                  f"Send {a['email']} an invitation to the library opening.", "send_email"),
            f"E-mail sent to {a['email']}.",
        ),
        (
            _plan("The invitation was sent.", "Report back.",
                  f"Tell the user that {a['mayor']} was invited.", "final_answer"),
            "",
        ),
    ]  # fmt: skip


def _age(a: dict, b: dict) -> tuple[str, list[tuple[PlanRecord, str]]]:
    age = 2025 - a["founded"]
    return f"How old is the city of {a['name']}?", [
        (
            _plan("Nothing is known yet.", "I need the founding year.",
                  f"Find the year {a['name']} was founded.", "search_wikipedia"),
            f"{a['name']} was founded in {a['founded']}.",
        ),
        (
            _plan(f"Founded in {a['founded']}.", "Subtract it from the current year, 2025.",
                  f"Compute 2025 - {a['founded']}.", "calculate"),
            str(age),
        ),
        (
            _plan(f"{a['name']} is {age} years old.", "I can answer now.",
                  f"Tell the user that {a['name']} is {age} years old.", "final_answer"),
            "",
        ),
    ]  # fmt: skip


def _unclear(a: dict, b: dict) -> tuple[str, list[tuple[PlanRecord, str]]]:
    return "Who is the mayor of the town I am moving to?", [
        (
            _plan("The town is not named.", "I must ask which town it is.",
                  "Ask the user which town they are moving to.", "ask_user"),
            a["name"],
        ),
        (
            _plan(f"The town is {a['name']}.", "Now look up its mayor.",
                  f"Find the mayor of {a['name']}.", "search_wikipedia"),
            f"The mayor of {a['name']} is {a['mayor']} ({a['email']}).",
        ),
        (
            _plan(f"Mayor of {a['name']}: {a['mayor']}.", "I can answer now.",
                  f"Tell the user that the mayor of {a['name']} is {a['mayor']}.",
                  "final_answer"),
            "",
        ),
    ]  # fmt: skip


_SHAPES = [_population, _sum, _email, _age, _unclear]


def planner_examples(requests: int, seed: int = 0) -> list[SFTExample]:
    """One example per step: the fine-tuned planner's own prompt (request and steps so far),
    and the next plan as JSON for the completion."""
    rng = random.Random(seed)
    examples = []
    for i in range(requests):
        request, steps = _SHAPES[i % len(_SHAPES)](_city(rng), _city(rng))
        done: list[Step] = []
        for number, (plan, observation) in enumerate(steps):
            examples.append(
                SFTExample(
                    request_id=f"toy-{seed}-{i}",
                    step=number,
                    prompt=fine_tuned_messages(request, Scratchpad(steps=done)),
                    completion=[assistant(plan.model_dump_json())],
                )
            )
            done.append(Step(plan=plan, observation=observation))
    return examples


def write_dataset(path: Path, requests: int, seed: int) -> int:
    examples = planner_examples(requests, seed)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("".join(e.model_dump_json() + "\n" for e in examples))
    return len(examples)


def _measure(config: TrainConfig) -> dict:
    """Train `config.max_steps` steps; figures from the steps alone (no load, no eval)."""
    result = train(config, console=Console(stderr=True, quiet=True))
    steps = result.steps
    return {
        "steps": steps,
        "batch_size": config.batch_size,
        "tokens": result.tokens,
        "tokens_per_second": result.tokens_per_second,
        "seconds_per_step": round(result.train_seconds / steps, 2),
        "cpu_seconds_per_step": round(result.train_cpu_seconds / steps, 2),
        "tokens_per_cpu_second": round(result.tokens / result.train_cpu_seconds, 1),
    }


def _settings(data: tuple[Path, Path], out: Path, steps: int, batch_size: int) -> dict:
    train_file, eval_file = data
    return {
        "dataset": train_file, "eval_dataset": eval_file, "out": out, "max_steps": steps,
        "batch_size": batch_size, "grad_accum": 1, "logging_steps": steps,
        "save_steps": 10 * steps,
    }  # fmt: skip


def cpu_speed(precision: str, steps: int, batch_size: int, data: tuple[Path, Path]) -> dict:
    with tempfile.TemporaryDirectory() as out:
        settings = _settings(data, Path(out), steps, batch_size)
        config = TrainConfig(**settings, precision=precision, max_length=512)
        return {
            "device": "cpu",
            "model": "smollm2-135m (bundled, dequantized)",
            "method": f"LoRA r=16 all-linear, {precision} weights",
            **_measure(config),
        }


def cuda_qlora_speed(steps: int, batch_size: int, data: tuple[Path, Path]) -> dict:
    """A 7B-shaped Llama (random bf16 weights, saved once) through the real QLoRA path."""
    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer, LlamaConfig

    from finetune.base_model import resolve_base

    shape = LlamaConfig(
        hidden_size=4096, intermediate_size=11008, num_hidden_layers=32,
        num_attention_heads=32, num_key_value_heads=32, vocab_size=49152,
        max_position_embeddings=4096, tie_word_embeddings=False,
    )  # fmt: skip
    with tempfile.TemporaryDirectory() as tmp:
        base = Path(tmp) / "llama-7b-shape"
        with torch.device("cuda"):
            model = AutoModelForCausalLM.from_config(shape, dtype=torch.bfloat16)
        model.save_pretrained(base)
        del model
        torch.cuda.empty_cache()
        # The bundled tokenizer fits: the random model shares its 49152-token vocabulary.
        AutoTokenizer.from_pretrained(resolve_base("smollm2-135m")).save_pretrained(base)
        torch.cuda.reset_peak_memory_stats()
        attention = ["q_proj", "k_proj", "v_proj", "o_proj"]
        config = TrainConfig(
            **_settings(data, Path(tmp) / "run", steps, batch_size),
            base=str(base), precision="4bit", max_length=1024, lora={"target_modules": attention},
        )  # fmt: skip
        figures = _measure(config)
    return {
        "device": torch.cuda.get_device_name(),
        "model": "7B-shaped Llama (random weights)",
        "method": "QLoRA nf4 + double quant, bf16 compute, r=16 attention projections",
        **figures,
        "peak_gpu_memory_gb": round(torch.cuda.max_memory_allocated() / 2**30, 2),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--write-dataset", type=Path, help="write the synthetic SFT JSONL, exit")
    parser.add_argument("--requests", type=int, default=120, help="requests to generate")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--steps", type=int, default=6, help="optimizer steps per measurement")
    parser.add_argument("--batch-size", type=int, default=4)
    args = parser.parse_args()
    if args.write_dataset:
        count = write_dataset(args.write_dataset, args.requests, args.seed)
        print(json.dumps({"dataset": str(args.write_dataset), "examples": count}))
        return

    import torch

    with tempfile.TemporaryDirectory() as tmp:
        # Validation runs at start and end of every run; one request keeps it out of the way.
        data = (Path(tmp) / "train.jsonl", Path(tmp) / "eval.jsonl")
        write_dataset(data[0], args.requests, args.seed)
        write_dataset(data[1], 1, args.seed + 1)
        started = time.perf_counter()
        if torch.cuda.is_available():
            results = [cuda_qlora_speed(args.steps, args.batch_size, data)]
        else:
            results = [cpu_speed(p, args.steps, args.batch_size, data) for p in ("fp32", "bf16")]
    summary: dict = {"results": results, "wall_seconds": round(time.perf_counter() - started, 1)}
    if len(results) == 2:  # the CPU pair, measured side by side
        fp32, bf16 = (r["tokens_per_cpu_second"] for r in results)
        summary["bf16_over_fp32_tokens_per_cpu_second"] = round(bf16 / fp32, 2)
    print(json.dumps(summary, indent=2))


if __name__ == "__main__":
    main()
