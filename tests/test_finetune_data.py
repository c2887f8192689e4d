"""Fine-tuning inputs: SFT files, the train/validation split, loss masks on the collated
batch, the config, and where the base model comes from. No training here."""

import random
import re
from pathlib import Path

import pytest

from finetune.config import load_config
from finetune.loss_mask import IGNORE_INDEX, encode, encode_all
from finetune.sft_data import DatasetError, read_examples, split_by_request
from planner.prompts import fine_tuned_messages, plan_text
from schemas.chat import assistant
from schemas.dataset import SFTExample
from schemas.errors import WaypointError
from schemas.plan import PlanRecord
from schemas.settings import SettingsError
from schemas.trajectory import Scratchpad, Step

_NAMES = ["Vantor", "Kelmir", "Sulbra", "Quenta", "Doravel", "Pimsk"]


def planner_examples(requests: int, seed: int = 0) -> list[SFTExample]:
    """Lookup-then-answer trajectories in the fine-tuned planner's own conversation: two
    plans each, the tool result between them."""
    rng = random.Random(seed)
    examples = []
    for i in range(requests):
        city, population = f"{rng.choice(_NAMES)}{i}", rng.randint(1_000, 99_999)
        lookup = Step(
            plan=PlanRecord(
                context="Nothing is known yet.",
                thoughts=f"I need the population of {city}.",
                task=f"Find the population of {city}.",
                tool="search_wikipedia",
            ),
            observation=f"{city}: {city} has {population} inhabitants.",
        )
        answer = PlanRecord(
            context=f"{city} has {population} inhabitants.",
            thoughts="I can answer now.",
            task=f"{city} has {population} inhabitants.",
            tool="final_answer",
        )
        messages = fine_tuned_messages(
            f"What is the population of {city}?", Scratchpad(steps=[lookup])
        )
        examples.append(
            SFTExample(
                request_id=f"r{seed}-{i}", messages=[*messages, assistant(plan_text(answer))]
            )
        )
    return examples


def write_jsonl(path: Path, examples: list[SFTExample]) -> Path:
    path.write_text("".join(e.model_dump_json() + "\n" for e in examples))
    return path


@pytest.fixture(scope="module")
def tokenizer():
    from finetune.base_model import load_tokenizer, resolve_base

    return load_tokenizer(resolve_base("smollm2-135m"))


def collate(tokenizer, rows, *, padding_free=False):
    from trl.trainer.sft_trainer import DataCollatorForLanguageModeling

    collator = DataCollatorForLanguageModeling(
        pad_token_id=tokenizer.pad_token_id, padding_free=padding_free
    )
    return collator(rows)


def plans_of(example: SFTExample) -> list[str]:
    return [m.content + "<|im_end|>\n" for m in example.messages if m.role == "assistant"]


def test_completion_only_learns_every_plan_and_nothing_else(tokenizer):
    examples = planner_examples(2)
    rows = [encode(e, tokenizer, completion_only=True)[0] for e in examples]
    batch = collate(tokenizer, rows)
    assert batch["labels"].shape == batch["input_ids"].shape
    for example, ids, labels in zip(examples, batch["input_ids"], batch["labels"], strict=True):
        trained = labels != IGNORE_INDEX
        # the trained tokens are exactly the plans with their end-of-turn, in order
        assert tokenizer.decode(ids[trained]) == "".join(plans_of(example))
        assert "Result:" not in tokenizer.decode(ids[trained])


def test_a_decision_weight_falls_on_every_plans_thoughts_and_tool_and_nowhere_else(tokenizer):
    example = planner_examples(1)[0]
    assert "weights" not in encode(example, tokenizer, completion_only=True)[0]
    plans = [PlanRecord.model_validate_json(m.content) for m in example.messages
             if m.role == "assistant"]  # fmt: skip
    decisions = [text for p in plans for text in (p.thoughts, p.tool)]
    [whole] = encode(example, tokenizer, completion_only=True, decision_weight=4)
    *_, last = encode(example, tokenizer, completion_only=True, layout="step", decision_weight=4)
    assert last["weights"] == whole["weights"]  # the step layout's last row is the whole
    assert len(whole["weights"]) == len(whole["input_ids"])
    assert set(whole["weights"]) == {1.0, 4.0}
    heavy = [i for i, w in enumerate(whole["weights"]) if w == 4]
    text = "".join(tokenizer.decode(whole["input_ids"][i]) for i in heavy)
    # every character of a decision, and at most the JSON punctuation around it
    assert re.fullmatch("".join(f'[",:]*{re.escape(d)}[",:}}]*' for d in decisions), text)
    assert all(whole["labels"][i] != IGNORE_INDEX for i in heavy)  # only learned tokens


def test_the_step_layout_learns_the_same_tokens_at_a_higher_price(tokenizer):
    """One row per plan, each repeating the conversation before it: per-step SFT."""
    example = planner_examples(1)[0]
    [whole] = encode(example, tokenizer, completion_only=True)
    steps = encode(example, tokenizer, completion_only=True, layout="step")
    assert len(steps) == 2
    learned = [
        [t for t, label in zip(r["input_ids"], r["labels"], strict=True) if label >= 0]
        for r in steps
    ]
    assert [tokenizer.decode(ids) for ids in learned] == plans_of(example)
    assert steps[1]["input_ids"] == whole["input_ids"]  # the last row is the whole trajectory
    assert sum(len(r["input_ids"]) for r in steps) > 1.4 * len(whole["input_ids"])


def test_packed_rows_keep_examples_apart(tokenizer):
    """Padding-free packing: positions restart at every example, so attention cannot cross
    from one example into the next."""
    rows = [encode(e, tokenizer, completion_only=True)[0] for e in planner_examples(3)]
    batch = collate(tokenizer, rows, padding_free=True)
    positions = batch["position_ids"][0].tolist()
    starts = [i for i, p in enumerate(positions) if p == 0]
    assert starts == [
        0,
        len(rows[0]["input_ids"]),
        len(rows[0]["input_ids"]) + len(rows[1]["input_ids"]),
    ]
    assert "attention_mask" not in batch


@pytest.mark.parametrize("packed", [False, True], ids=["row-wide mask", "example by example"])
def test_a_packed_example_sees_only_itself_in_the_training_model(tokenizer, packed):
    """The model as training loads it: each example's logits in a packed row are its logits
    alone (a KV cache would switch off the per-example mask and let examples mix), whether
    a mask over the row keeps them apart or each is attended to on its own."""
    import torch

    from finetune import packed_attention
    from finetune.base_model import choose_hardware, load_for_training, resolve_base

    hardware = choose_hardware("fp32", False)
    model = load_for_training(resolve_base("smollm2-135m"), hardware, packed=packed)
    expected = packed_attention.NAME if packed else "sdpa"
    assert model.config._attn_implementation == expected
    model.train()  # dropout is 0 in the base's config; train mode is what the trainer uses
    rows = [encode(e, tokenizer, completion_only=True)[0] for e in planner_examples(2)]
    batch = collate(tokenizer, rows, padding_free=True)
    with torch.no_grad():
        packed = model(input_ids=batch["input_ids"], position_ids=batch["position_ids"]).logits
        second = torch.tensor([rows[1]["input_ids"]])
        alone = model(input_ids=second).logits
    start = len(rows[0]["input_ids"])
    assert torch.allclose(packed[0, start:], alone[0], atol=1e-3)


def test_full_loss_trains_on_every_real_token(tokenizer):
    rows = [encode(e, tokenizer, completion_only=False)[0] for e in planner_examples(2)]
    batch = collate(tokenizer, rows)
    for row, labels in zip(rows, batch["labels"], strict=True):
        assert labels[: len(row["input_ids"])].tolist() == row["input_ids"]


def test_mask_observations_masks_exactly_the_tool_results(tokenizer):
    example = planner_examples(1)[0]
    [row] = encode(example, tokenizer, completion_only=False, mask_observations=True)
    masked = [t for t, label in zip(row["input_ids"], row["labels"], strict=True) if label < 0]
    result = example.messages[3].content.removeprefix("Result: ")
    assert tokenizer.decode(masked).strip() == result
    assert sum(label >= 0 for label in row["labels"]) == len(row["input_ids"]) - len(masked)


def test_mask_observations_without_any_tool_result_is_an_error(tokenizer):
    answers_only = [
        e.model_copy(update={"messages": [*e.messages[:2], e.messages[-1]]})
        for e in planner_examples(3)
    ]
    with pytest.raises(DatasetError, match="no tool results"):
        encode_all(
            answers_only, tokenizer, completion_only=False, mask_observations=True, max_length=512
        )


def test_examples_longer_than_max_length_are_left_out_and_counted(tokenizer):
    examples = planner_examples(3) + [
        e.model_copy(update={"messages": [*e.messages[:2], e.messages[-1]]})
        for e in planner_examples(3, seed=1)
    ]
    lengths = [len(encode(e, tokenizer, completion_only=True)[0]["input_ids"]) for e in examples]
    limit = sorted(lengths)[len(lengths) // 2]
    dataset, skipped = encode_all(
        examples, tokenizer, completion_only=True, mask_observations=False, max_length=limit
    )
    assert skipped == sum(n > limit for n in lengths) > 0
    assert len(dataset) + skipped == len(examples)
    assert max(len(ids) for ids in dataset["input_ids"]) <= limit


def test_split_holds_out_whole_requests_deterministically():
    examples = planner_examples(20)
    train, val = split_by_request(examples, 0.2, seed=1)
    assert {e.request_id for e in train}.isdisjoint({e.request_id for e in val})
    assert len({e.request_id for e in val}) == 4
    assert len(train) + len(val) == len(examples)
    assert split_by_request(examples, 0.2, seed=1) == (train, val)
    assert split_by_request(examples, 0.2, seed=2) != (train, val)


def test_read_examples_names_the_bad_line(tmp_path):
    path = write_jsonl(tmp_path / "d.jsonl", planner_examples(1))
    path.write_text(path.read_text() + '{"request_id": "x"}\n')
    with pytest.raises(WaypointError, match=r"d.jsonl:2: messages: Field required"):
        read_examples(path)
    with pytest.raises(DatasetError, match="no such dataset file"):
        read_examples(tmp_path / "missing.jsonl")


@pytest.mark.parametrize("cut", [slice(0, 2), slice(1, None), slice(0, 0)])
def test_read_examples_wants_a_conversation_ending_in_a_plan(tmp_path, cut):
    example = planner_examples(1)[0]
    messages = example.messages[cut] if cut != slice(1, None) else example.messages[2:]
    bad = example.model_copy(update={"messages": messages})
    with pytest.raises(DatasetError, match="ending with a plan"):
        read_examples(write_jsonl(tmp_path / "d.jsonl", [bad]))


def test_config_file_with_overrides(tmp_path):
    path = tmp_path / "train.toml"
    path.write_text('dataset = "d.jsonl"\nout = "run"\nepochs = 3\n[lora]\nr = 8\ndropout = 0.1\n')
    config = load_config(path, {"lora.r": 4, "learning_rate": 1e-3})
    assert (config.epochs, config.lora.r, config.lora.dropout) == (3, 4, 0.1)
    assert config.learning_rate == 1e-3
    assert config.lora.target_modules == "all-linear"


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"lora.rank": 8}, "lora.rank: Extra inputs are not permitted"),
        ({"batch_size": 0}, "batch_size: Input should be greater than or equal to 1"),
        ({"completion_only": True, "mask_observations": True}, "mask_observations applies"),
    ],
)
def test_config_errors_name_the_setting(overrides, message):
    with pytest.raises(SettingsError, match=message):
        load_config(None, {"dataset": "d.jsonl", "out": "run", **overrides})


def test_auto_hardware_is_bf16_or_fp32_lora_on_cpu_and_qlora_on_cuda(monkeypatch):
    import torch

    from finetune import base_model
    from finetune.base_model import choose_hardware

    for pays, precision, dtype in ((True, "bf16", "bfloat16"), (False, "fp32", "float32")):
        monkeypatch.setattr(base_model, "cpu_bf16_pays", lambda pays=pays: pays)
        cpu = choose_hardware("auto", None)
        if not torch.cuda.is_available():
            assert (cpu.precision, cpu.compute_dtype, cpu.mixed_precision) == (
                precision, dtype, "no",
            )  # fmt: skip
            assert not cpu.gradient_checkpointing
    fp32 = choose_hardware("fp32", None)  # asked for: fp32 even where bf16 pays
    assert (fp32.compute_dtype, fp32.mixed_precision) == ("float32", "no")
    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    monkeypatch.setattr(torch.cuda, "is_bf16_supported", lambda: True)
    cuda = choose_hardware("auto", None)
    assert (cuda.precision, cuda.compute_dtype, cuda.gradient_checkpointing) == (
        "4bit", "bfloat16", True,
    )  # fmt: skip
    assert cuda.describe().startswith("training on cuda: QLoRA (nf4, double quantization)")


def test_bundled_base_is_dequantized_into_a_reusable_folder(tokenizer):
    from finetune.base_model import resolve_base

    folder = Path(resolve_base("smollm2-135m"))
    assert (folder / "model.safetensors").is_file()
    assert (folder / "config.json").is_file()
    assert tokenizer.chat_template and tokenizer.eos_token == "<|im_end|>"
    assert resolve_base("smollm2-135m") == str(folder)  # the second call reuses it


def test_bad_base_is_one_clear_error(tmp_path):
    from finetune.base_model import BaseModelError, resolve_base

    with pytest.raises(BaseModelError, match="no such GGUF file"):
        resolve_base(str(tmp_path / "missing.gguf"))
    with pytest.raises(BaseModelError, match="not a Hugging Face model folder"):
        resolve_base(str(tmp_path))
