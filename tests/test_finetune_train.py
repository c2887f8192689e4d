"""Real training at tiny scale on the bundled model (CPU): the loss falls, Ctrl-C keeps a
checkpoint, --resume continues from it, and the merged model equals base + adapter."""

import os
import signal
import subprocess
import sys
from statistics import mean
from types import SimpleNamespace

import pytest
import torch
from test_finetune_data import planner_examples, write_jsonl
from transformers import TrainerCallback
from typer.testing import CliRunner

from finetune.base_model import Hardware, load_for_training, load_tokenizer, resolve_base
from finetune.config import TrainConfig
from finetune.loss_mask import encode
from finetune.train import TrainingInterrupted, train
from waypoint.cli import app

pytestmark = pytest.mark.slow


class CtrlCDuringStep(TrainerCallback):
    """Sends SIGINT to this process while optimizer step `step` runs, as Ctrl-C would."""

    def __init__(self, step: int) -> None:
        self.step = step

    def on_step_begin(self, args, state, control, **kwargs):
        if state.global_step == self.step - 1:
            os.kill(os.getpid(), signal.SIGINT)


class StartingStep(TrainerCallback):
    def on_train_begin(self, args, state, control, **kwargs):
        self.step = state.global_step


@pytest.fixture(scope="module", autouse=True)
def one_torch_thread():
    """On a 2-core machine shared with other jobs, two torch threads spin-wait on each
    other; one thread trains faster there (and the speed of a test is not its subject)."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


@pytest.fixture(scope="module")
def data(tmp_path_factory):
    folder = tmp_path_factory.mktemp("sft")
    return (
        write_jsonl(folder / "train.jsonl", planner_examples(8, seed=0)),
        write_jsonl(folder / "val.jsonl", planner_examples(2, seed=1)),
    )


def tiny_config(data, out, **changes) -> TrainConfig:
    """Four optimizer steps of two short examples: enough to move a 135M model."""
    train_file, val_file = data
    settings = {
        "dataset": train_file, "eval_dataset": val_file, "out": out, "precision": "fp32",
        "max_steps": 4, "batch_size": 2, "grad_accum": 1, "max_length": 256,
        "learning_rate": 2e-3, "lr_scheduler": "constant", "warmup_ratio": 0.0,
        "lora": {"r": 8, "alpha": 16, "dropout": 0.0}, "logging_steps": 1, "save_steps": 2,
    }  # fmt: skip
    return TrainConfig(**{**settings, **changes})


@pytest.fixture(scope="module")
def run(data, tmp_path_factory):
    """One run stopped by Ctrl-C during step 2, then resumed to its end at step 4."""
    config = tiny_config(data, tmp_path_factory.mktemp("run") / "planner")
    with pytest.raises(TrainingInterrupted) as stopped:
        train(config, callbacks=[CtrlCDuringStep(2)])
    checkpoints = sorted(p.name for p in config.out.glob("checkpoint-*"))
    start = StartingStep()
    result = train(config, resume=True, callbacks=[start])
    return SimpleNamespace(
        config=config,
        interrupted=stopped.value,
        checkpoints_at_interrupt=checkpoints,
        resumed_at=start.step,
        result=result,
    )


@pytest.fixture(scope="module")
def tuned(run):
    """The base model with the run's adapter attached (switch it off for the base)."""
    from peft import PeftModel
    from transformers import AutoModelForCausalLM

    base = AutoModelForCausalLM.from_pretrained(resolve_base("smollm2-135m"))
    return PeftModel.from_pretrained(base, run.result.adapter).eval()


def test_ctrl_c_saves_a_checkpoint_and_exits_non_zero(run):
    assert run.interrupted.exit_code == 130
    assert "interrupted at step 2/4" in str(run.interrupted)
    assert "--resume" in str(run.interrupted)
    assert run.checkpoints_at_interrupt == ["checkpoint-2"]


def test_resume_continues_at_the_right_step(run):
    assert run.resumed_at == 2
    assert run.result.steps == 4
    assert [step for step, _ in run.result.losses] == [1, 2, 3, 4]


def test_validation_loss_is_measured_at_start_and_falls(run):
    steps = [step for step, _ in run.result.val_losses]
    assert steps[0] == 0 and steps[-1] == 4
    assert run.result.val_losses[-1][1] < run.result.val_losses[0][1]


def test_training_lowers_the_loss_on_the_training_examples(run, tuned):
    tokenizer = load_tokenizer(str(run.result.adapter))
    examples = planner_examples(8, seed=0)
    rows = [row for e in examples for row in encode(e, tokenizer, completion_only=True)]

    def loss() -> float:
        with torch.no_grad():
            return mean(
                tuned(
                    input_ids=torch.tensor([r["input_ids"]]), labels=torch.tensor([r["labels"]])
                ).loss.item()
                for r in rows
            )

    with tuned.disable_adapter():
        before = loss()
    assert loss() < 0.8 * before


def test_run_folder_holds_logs_checkpoints_and_adapter(run):
    out = run.config.out
    assert any(out.glob("runs/*/events.out.tfevents.*"))
    assert (out / "checkpoint-4" / "trainer_state.json").is_file()
    assert (out / "adapter" / "adapter_model.safetensors").is_file()
    assert (out / "result.json").is_file()


def test_merged_model_equals_base_plus_adapter(run, tuned, tmp_path):
    from transformers import AutoModelForCausalLM, AutoTokenizer

    out = tmp_path / "merged"
    result = CliRunner().invoke(app, ["finetune", "merge", str(run.result.adapter), "-o", str(out)])
    assert result.exit_code == 0, result.output
    merged = AutoModelForCausalLM.from_pretrained(out).eval()
    tokenizer = AutoTokenizer.from_pretrained(out)
    assert tokenizer.chat_template == load_tokenizer(resolve_base("smollm2-135m")).chat_template
    ids = tokenizer.apply_chat_template(
        planner_examples(1, seed=5)[0].model_dump()["messages"][:-1],
        add_generation_prompt=True,
        return_tensors="pt",
        return_dict=True,
    )["input_ids"]
    with torch.no_grad():
        expected = tuned(input_ids=ids).logits
        with tuned.disable_adapter():
            base = tuned(input_ids=ids).logits
        got = merged(input_ids=ids).logits
    assert (expected - base).abs().max() > 1e-2  # the adapter changes something
    assert torch.allclose(got, expected, atol=1e-3)


def cli(*args: str) -> subprocess.CompletedProcess:
    code = "from waypoint.cli import main; main()"
    return subprocess.run([sys.executable, "-c", code, *args], capture_output=True, text=True)


def test_cli_refuses_to_overwrite_a_run(run, data):
    proc = cli("finetune", str(data[0]), "--out", str(run.config.out))
    assert proc.returncode == 2
    assert "already holds a run: pass --resume" in proc.stderr
    assert len(proc.stderr.strip().splitlines()) == 1


def test_cli_resume_with_other_settings_names_them(run, data):
    config = run.config
    args = ["finetune", str(data[0]), "--out", str(config.out), "--resume", "--lr", "1e-3"]
    proc = cli(*args, "--eval-dataset", str(data[1]))
    assert proc.returncode == 2
    assert "learning_rate: 0.002 → 0.001" in proc.stderr


def test_4bit_on_cpu_still_trains_after_an_evaluation_pass():
    """bitsandbytes repacks 4-bit weights on a no-grad eval pass on CPU, after which
    gradients vanish; the loader must prevent it since validation runs every epoch."""
    from peft import LoraConfig, get_peft_model

    source = resolve_base("smollm2-135m")
    hardware = Hardware(
        device="cpu", precision="4bit", compute_dtype="bfloat16", gradient_checkpointing=False
    )
    model = load_for_training(source, hardware)
    model = get_peft_model(model, LoraConfig(r=4, target_modules=["q_proj"], task_type="CAUSAL_LM"))
    ids = load_tokenizer(source)("The planner picks a tool.", return_tensors="pt")["input_ids"]
    model.eval()
    with torch.no_grad():
        model(input_ids=ids)
    model.train()
    model(input_ids=ids, labels=ids).loss.backward()
    grads = [p.grad for name, p in model.named_parameters() if "lora_B" in name]
    assert grads and all(g is not None and g.abs().sum() > 0 for g in grads)


def test_top_layers_on_cpu_bf16_weights_adapt_only_those_layers(data, tmp_path, monkeypatch):
    """The CPU recipe's two speed knobs at once: bf16 base weights under an fp32 adapter,
    and LoRA on the last decoder layers only (every linear layer of them, as all-linear
    means)."""
    import re

    from safetensors import safe_open

    from finetune import base_model

    monkeypatch.setattr(base_model, "cpu_bf16_pays", lambda: True)
    config = tiny_config(
        data, tmp_path / "top", precision="auto", lora={"r": 8, "alpha": 16, "top_layers": 2}
    )
    result = train(config)
    with safe_open(str(result.adapter / "adapter_model.safetensors"), "pt") as adapter:
        keys = list(adapter.keys())
        assert all(adapter.get_tensor(k).dtype == torch.float32 for k in keys)
    layers = {int(re.search(r"layers\.(\d+)\.", k).group(1)) for k in keys}
    modules = {re.search(r"\.(\w+_proj)\.", k).group(1) for k in keys}
    assert layers == {28, 29}  # SmolLM2-135M has 30
    assert modules == {"q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj", "down_proj"}
    assert result.val_losses[-1][1] < result.val_losses[0][1]


def test_the_weighted_loss_is_the_models_own_with_weight_one_and_scales_each_token(data):
    """WeightedSFTTrainer's loss on a collated packed batch: with every weight 1 it is the
    model's causal-LM loss; with weight w on some tokens, it is each learned token's loss
    times its weight over the learned tokens (the weights aligned with the labels)."""
    from trl.trainer.sft_trainer import DataCollatorForLanguageModeling
    from trl.trainer.utils import add_fused_lm_head

    from finetune.weighted_loss import WeightCollator, WeightedSFTTrainer

    source = resolve_base("smollm2-135m")
    tokenizer = load_tokenizer(source)
    hardware = Hardware(
        device="cpu", precision="fp32", compute_dtype="float32", gradient_checkpointing=False
    )
    model = load_for_training(source, hardware).eval()
    add_fused_lm_head(model, outputs=("log_probs",))
    rows = [encode(e, tokenizer, completion_only=True, decision_weight=3.0)[0]
            for e in planner_examples(2)]  # fmt: skip
    trl_collator = DataCollatorForLanguageModeling(tokenizer.pad_token_id, padding_free=True)
    batch = WeightCollator(trl_collator)(rows)
    labels, weights = batch["labels"], batch["weights"]

    def weighted(w):
        inputs = {k: v for k, v in batch.items() if k != "weights"}
        with torch.no_grad():
            return WeightedSFTTrainer.compute_loss(None, model, {**inputs, "weights": w}).item()

    with torch.no_grad():
        own = model(input_ids=batch["input_ids"], position_ids=batch["position_ids"],
                    labels=labels, use_cache=False)  # fmt: skip
    assert weighted(torch.ones_like(weights)) == pytest.approx(own.loss.item(), rel=1e-4)
    logits = own.logits[0, :-1].float()
    nll = torch.nn.functional.cross_entropy(logits, labels[0, 1:].clamp(min=0), reduction="none")
    learned = labels[0, 1:] != -100
    expected = (nll * weights[0, 1:])[learned].sum() / learned.sum()
    assert weights.max() == 3.0
    assert weighted(weights) == pytest.approx(expected.item(), rel=1e-4)
    assert weighted(weights) > weighted(torch.ones_like(weights))


def test_a_decision_weighted_run_trains_on_packed_rows(data, tmp_path, monkeypatch):
    from finetune.weighted_loss import WeightedSFTTrainer

    seen, compute_loss = [], WeightedSFTTrainer.compute_loss

    def spy(self, model, inputs, *args, **kwargs):
        if model.training:  # what reached the loss: weights, several examples in one row
            seen.append((inputs["weights"].max().item(), (inputs["position_ids"] == 0).sum()))
        return compute_loss(self, model, inputs, *args, **kwargs)

    monkeypatch.setattr(WeightedSFTTrainer, "compute_loss", spy)
    result = train(tiny_config(data, tmp_path / "weighted", decision_weight=4.0, max_steps=2))
    assert result.steps == len(seen) == 2
    assert all(weight == 4.0 and starts >= 2 for weight, starts in seen)
    assert result.val_losses[-1][1] < result.val_losses[0][1]
    assert (result.adapter / "adapter_model.safetensors").is_file()
