"""Training speed of `finetune.train` on this machine, as JSON.

CPU: plan tokens learned per second by LoRA on the bundled SmolLM2-135M, on the same atlas
trajectories, run side by side:
- the layout: one sequence per plan that repeats the conversation before it (per-step SFT,
  "step"), against one packed sequence per trajectory with the loss on every plan
  ("trajectory", the recipe);
- the LM head: trl's fused head, which off CUDA scores every position (and the entropy and
  top-1 of its metrics), against the recipe's, which projects only the learned positions;
- attention in a packed row: one call over the whole row behind a block-diagonal mask
  (transformers' SDPA, `attention = "row_mask"`), against the recipe's, one causal call per
  example (`finetune.packed_attention`);
- the precision: fp32 weights against the recipe's bf16 weights (where the CPU has bf16).
Each run is one epoch over the same requests, so all learn exactly the same plan tokens;
the ratio of plan tokens per second is what the recipe saves over each alternative. CUDA
(when present): QLoRA step time and peak GPU memory for a 7B-shaped Llama with random
weights (its shape, not its knowledge, sets the cost).

    python bench/train_speed.py                 # the speed figures (about 20 min on 2 cores)
    python bench/train_speed.py --requests 12   # quicker
    python bench/train_speed.py --variants trajectory,masked_attention   # two of them
"""

import argparse
import json
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from rich.console import Console

from finetune.config import TrainConfig
from finetune.train import train


def write_dataset(folder: Path, requests: int, seed: int) -> Path:
    """The atlas expert's trajectories on `requests` training requests, packaged for SFT."""
    from finetune.simulation import (
        DATASET,
        simulate_judge,
        simulate_package,
        simulate_requests,
        simulate_trajectories,
    )  # fmt: skip

    simulate_requests("atlas", folder, requests, seed=seed)
    simulate_trajectories("atlas", folder, show_progress=False)
    simulate_judge("atlas", folder, show_progress=False)
    simulate_package("atlas", folder, val_fraction=0.1)
    return folder / DATASET


def _measure(config: TrainConfig) -> dict:
    """Train; figures from the optimizer steps alone (no load, no evaluation)."""
    result = train(config, console=Console(stderr=True, quiet=True))
    steps = result.steps
    epochs = config.epochs if config.max_steps is None else None
    learned = result.plan_tokens * epochs if epochs else None
    return {
        "steps": steps,
        "tokens": result.tokens,
        "tokens_per_second": result.tokens_per_second,
        "plan_tokens": learned,
        "plan_tokens_per_second": round(learned / result.train_seconds, 1) if learned else None,
        "plan_tokens_per_cpu_second": (
            round(learned / result.train_cpu_seconds, 1) if learned else None
        ),
        "seconds_per_step": round(result.train_seconds / steps, 2),
        "cpu_seconds_per_step": round(result.train_cpu_seconds / steps, 2),
    }


def _settings(dataset: Path, out: Path, **changes: object) -> dict:
    return {
        "dataset": dataset / "train.jsonl", "eval_dataset": dataset / "validation.jsonl",
        "out": out, "epochs": 1.0, "logging_steps": 1000, "save_steps": 100_000, **changes,
    }  # fmt: skip


RECIPE = {"layout": "trajectory", "packing": True, "batch_size": 1, "grad_accum": 1}
VARIANTS = {  # name → settings and the LM head: the recipe, and one change from it each
    "step": ({**RECIPE, "layout": "step", "packing": False, "grad_accum": 4}, "learned"),
    "trajectory": (RECIPE, "learned"),
    "trl_head": (RECIPE, "trl"),
    "masked_attention": ({**RECIPE, "attention": "row_mask"}, "learned"),
    "fp32": ({**RECIPE, "precision": "fp32"}, "learned"),
}


@contextmanager
def lm_head(kind: str) -> Iterator[None]:
    """The loss's LM head: the recipe's ("learned"), or trl's fused one on every position."""
    from finetune import weighted_loss

    recipe = weighted_loss.learned_log_probs
    if kind == "trl":
        weighted_loss.learned_log_probs = weighted_loss.trl_log_probs
    try:
        yield
    finally:
        weighted_loss.learned_log_probs = recipe


def cpu_speed(variant: str, dataset: Path) -> dict:
    settings, head = VARIANTS[variant]
    with tempfile.TemporaryDirectory() as out, lm_head(head):
        config = TrainConfig(**_settings(dataset, Path(out), **settings))
        return {
            "device": "cpu",
            "variant": variant,
            "model": "smollm2-135m (bundled, dequantized)",
            "method": f"LoRA r=16 all-linear, {config.precision} precision, {head} LM head",
            "settings": settings,
            **_measure(config),
        }


def cuda_qlora_speed(steps: int, batch_size: int, dataset: Path) -> dict:
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
            **_settings(dataset, Path(tmp) / "run", max_steps=steps, batch_size=batch_size),
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
    parser.add_argument("--requests", type=int, default=30, help="atlas training requests")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--steps", type=int, default=6, help="CUDA: optimizer steps measured")
    parser.add_argument("--batch-size", type=int, default=4, help="CUDA: examples per step")
    parser.add_argument(
        "--variants", default=",".join(VARIANTS), help=f"CPU: some of {', '.join(VARIANTS)}"
    )
    args = parser.parse_args()
    variants = args.variants.split(",")
    if "trajectory" not in variants or not set(variants) <= VARIANTS.keys():
        parser.error(f"--variants: trajectory (the recipe) and any of {', '.join(VARIANTS)}")

    import torch

    with tempfile.TemporaryDirectory() as tmp:
        dataset = write_dataset(Path(tmp) / "sim", args.requests, args.seed)
        started = time.perf_counter()
        if torch.cuda.is_available():
            results = [cuda_qlora_speed(args.steps, args.batch_size, dataset)]
        else:
            results = [cpu_speed(variant, dataset) for variant in variants]
    summary: dict = {"results": results, "wall_seconds": round(time.perf_counter() - started, 1)}
    if len(results) > 1:  # the CPU runs, side by side on the same plans
        speed = {r["variant"]: r for r in results}
        for other in speed.keys() - {"trajectory"}:
            for figure in ("plan_tokens_per_second", "plan_tokens_per_cpu_second"):
                ratio = speed["trajectory"][figure] / speed[other][figure]
                summary[f"{figure}_recipe_over_{other}"] = round(ratio, 2)
    print(json.dumps(summary))


if __name__ == "__main__":
    main()
