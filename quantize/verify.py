"""Does a quantized planner still plan like the model it came from?

The reference is the full-precision Hugging Face model decoding greedily under the plan's
JSON Schema through outlines; each GGUF file decodes greedily under the plan's GBNF grammar
through llama.cpp. Both get the same prompt token ids, and both constraints admit the same
compact JSON, so differences come from the weights. Per file: the parse rate, how often the
tool matches the reference's, how similar the task text is, how often the whole plan is
identical, and the drift: the mean |Δ log p| per token of the reference plans between the
two models (teacher-forced, so one early divergence does not hide the rest).
"""

from collections.abc import Callable, Sequence
from difflib import SequenceMatcher
from pathlib import Path
from typing import TYPE_CHECKING, Any

import gguf
import numpy as np
from pydantic import BaseModel, ValidationError

from models.amx import avoid_amx
from models.gguf_info import check_gguf_file, file_type_name
from models.llamacpp import physical_cores
from planner.model_planner import MAX_PLAN_TOKENS
from quantize.errors import VerifyError
from schemas.chat import Message
from schemas.grammar import compile_grammar
from schemas.plan import PlanRecord, plan_model

if TYPE_CHECKING:
    import llama_cpp

OnStep = Callable[[str, int, int], None]
"""Progress: (what is running, steps done, steps in all)."""


class PlanAgreement(BaseModel):
    same_tool: float
    task_similarity: float
    identical: float


class PlannerFiles(BaseModel, frozen=True):
    """What llama.cpp runs: a GGUF, and the LoRA adapter it applies, if any."""

    path: Path
    lora: Path | None = None

    @property
    def label(self) -> str:
        return self.path.name + (f" + {self.lora.name}" if self.lora else "")


class FileAgreement(PlanAgreement):
    """A file against the reference model; `baseline`: its plans against those of the
    baseline file (the f16 GGUF), where one was named."""

    path: Path
    lora: Path | None = None
    file_type: str
    size_bytes: int
    parse_rate: float
    logprob_drift: float
    baseline: PlanAgreement | None = None


class VerifyReport(BaseModel):
    reference: Path
    prompts: int
    reference_parse_rate: float
    files: list[FileAgreement]


class _Prompt(BaseModel):
    messages: list[dict[str, str]]
    ids: list[int]


class _Decoded(BaseModel):
    text: str
    plan: PlanRecord | None


def verify(
    reference_dir: Path,
    files: Sequence[Path | PlannerFiles],
    prompts: Sequence[Sequence[Message]],
    tool_names: Sequence[str],
    *,
    max_tokens: int = MAX_PLAN_TOKENS,
    threads: int = 0,
    baseline: Path | None = None,
    on_step: OnStep | None = None,
) -> VerifyReport:
    """Compare every GGUF in `files` (with its LoRA adapter, where one is given) with the HF
    model in `reference_dir` on `prompts`, and with `baseline` (one of `files`, decoded by
    the same engine) where given."""
    if not prompts:
        raise VerifyError("no prompts to verify on")
    planners = [f if isinstance(f, PlannerFiles) else PlannerFiles(path=f) for f in files]
    base = PlannerFiles(path=baseline) if baseline is not None else None
    if base is not None and base not in planners:
        raise VerifyError(f"the baseline {baseline} is not among the files verified")
    for planner in planners:
        for path in (planner.path, planner.lora):
            if path is not None:
                check_gguf_file(path, VerifyError)
    plan_class = plan_model(tool_names)
    report = on_step or (lambda label, done, total: None)
    reference = _Reference(reference_dir)
    encoded = [reference.encode(p) for p in prompts]
    expected = []
    for i, prompt in enumerate(encoded):
        report("reference (transformers + outlines)", i, len(encoded))
        expected.append(_parse(reference.decode(prompt, plan_class, max_tokens), plan_class))
    reference_tokens = [reference.completion_ids(e.text) for e in expected]
    reference_logprobs = [
        reference.logprobs(p.ids, c) for p, c in zip(encoded, reference_tokens, strict=True)
    ]
    gbnf = compile_grammar(plan_class).gbnf
    results, plans = [], {}
    for planner in planners:
        n_ctx = _context(encoded, max_tokens)
        candidate = _Candidate(planner, reference.vocab_size, threads, n_ctx)
        decoded, drifts = [], []
        for i, (prompt, tokens) in enumerate(zip(encoded, reference_tokens, strict=True)):
            report(planner.label, i, len(encoded))
            # logprobs first: decoding then reuses the prompt already in llama.cpp's cache
            drifts.append(np.abs(candidate.logprobs(prompt.ids, tokens) - reference_logprobs[i]))
            decoded.append(_parse(candidate.decode(prompt.ids, gbnf, max_tokens), plan_class))
        kind = candidate.file_type()
        candidate.close()
        plans[planner] = decoded
        results.append(_agreement(planner, kind, expected, decoded, np.concatenate(drifts)))
    if base is not None:
        for planner, result in zip(planners, results, strict=True):
            if planner != base:
                result.baseline = _plan_agreement(plans[base], plans[planner])
    return VerifyReport(
        reference=reference_dir,
        prompts=len(encoded),
        reference_parse_rate=_share(e.plan is not None for e in expected),
        files=results,
    )


def _context(prompts: Sequence[_Prompt], max_tokens: int) -> int:
    return max(len(p.ids) for p in prompts) + max_tokens + 8


def _parse(text: str, plan_class: type[PlanRecord]) -> _Decoded:
    try:
        return _Decoded(text=text, plan=plan_class.model_validate_json(text))
    except ValidationError:
        return _Decoded(text=text, plan=None)


def _agreement(
    planner: PlannerFiles,
    kind: str,
    expected: list[_Decoded],
    decoded: list[_Decoded],
    drift: np.ndarray,
) -> FileAgreement:
    lora = planner.lora
    return FileAgreement(
        **_plan_agreement(expected, decoded).model_dump(),
        path=planner.path,
        lora=lora,
        file_type=kind + (" + LoRA" if lora else ""),
        size_bytes=planner.path.stat().st_size + (lora.stat().st_size if lora else 0),
        parse_rate=_share(d.plan is not None for d in decoded),
        logprob_drift=float(drift.mean()) if drift.size else 0.0,
    )


def _plan_agreement(expected: list[_Decoded], decoded: list[_Decoded]) -> PlanAgreement:
    pairs = [(e.plan, d.plan) for e, d in zip(expected, decoded, strict=True)]
    both = [(e, d) if e and d else None for e, d in pairs]
    similarity = [SequenceMatcher(None, p[0].task, p[1].task).ratio() if p else 0.0 for p in both]
    return PlanAgreement(
        same_tool=_share(p is not None and p[0].tool == p[1].tool for p in both),
        task_similarity=float(np.mean(similarity)),
        identical=_share(p is not None and p[0].model_dump() == p[1].model_dump() for p in both),
    )


def _share(flags: Any) -> float:
    values = list(flags)
    return sum(values) / len(values) if values else 0.0


def _log_softmax_at(logits: np.ndarray, ids: Sequence[int]) -> np.ndarray:
    """log p of ids[i] under logits[i] (rows are positions)."""
    logits = logits.astype(np.float64)
    top = logits.max(axis=-1, keepdims=True)
    log_z = np.log(np.exp(logits - top).sum(axis=-1)) + top[:, 0]
    return logits[np.arange(len(ids)), ids] - log_z


class _Reference:
    """The full-precision model, constrained by outlines."""

    def __init__(self, folder: Path) -> None:
        if not (folder / "config.json").is_file():
            raise VerifyError(f"{folder} is not a Hugging Face model folder (no config.json)")
        from transformers import AutoModelForCausalLM, AutoTokenizer
        from transformers.utils import logging as transformers_logging

        transformers_logging.disable_progress_bar()  # verify draws its own progress
        self.tokenizer = AutoTokenizer.from_pretrained(folder, local_files_only=True)
        self.model = AutoModelForCausalLM.from_pretrained(folder, dtype="auto").eval()
        self.vocab_size = self.model.config.vocab_size
        self._generators: dict[type[PlanRecord], Any] = {}

    def encode(self, messages: Sequence[Message]) -> _Prompt:
        chat = [m.model_dump() for m in messages]
        text = self.tokenizer.apply_chat_template(chat, tokenize=False, add_generation_prompt=True)
        # the calls outlines makes for a Chat, so both models see these ids
        return _Prompt(messages=chat, ids=self.tokenizer(text)["input_ids"])

    def decode(self, prompt: _Prompt, plan_class: type[PlanRecord], max_tokens: int) -> str:
        from outlines.inputs import Chat

        # A Chat, not its templated text: outlines templates a plain string once more
        # (as a user message), and the reference would answer a different prompt.
        chat = Chat(prompt.messages)
        return self._generator(plan_class)(chat, max_new_tokens=max_tokens, do_sample=False)

    def _generator(self, plan_class: type[PlanRecord]) -> Any:
        if plan_class not in self._generators:
            import outlines
            from outlines.types import JsonSchema

            model = outlines.from_transformers(self.model, self.tokenizer)
            # no whitespace between JSON tokens: the language the compact GBNF admits
            schema = JsonSchema(plan_class, whitespace_pattern="")
            self._generators[plan_class] = outlines.Generator(model, schema)
        return self._generators[plan_class]

    def completion_ids(self, text: str) -> list[int]:
        return self.tokenizer(text, add_special_tokens=False)["input_ids"]

    def logprobs(self, prompt: list[int], completion: list[int]) -> np.ndarray:
        import torch

        ids = prompt + completion
        with torch.no_grad():
            logits = self.model(torch.tensor([ids])).logits[0, len(prompt) - 1 : -1]
        return _log_softmax_at(logits.float().numpy(), completion)


class _Candidate:
    """A GGUF file under llama.cpp with its logits kept for every position."""

    def __init__(self, planner: PlannerFiles, vocab_size: int, threads: int, n_ctx: int) -> None:
        from llama_cpp import Llama

        avoid_amx()
        self.llm: llama_cpp.Llama = Llama(
            str(planner.path),
            n_ctx=n_ctx,
            n_threads=threads or physical_cores(),
            logits_all=True,
            lora_path=str(planner.lora) if planner.lora else None,
            verbose=False,
        )
        if self.llm.n_vocab() != vocab_size:
            self.close()
            raise VerifyError(
                f"{planner.path} has {self.llm.n_vocab()} tokens, the reference {vocab_size}: "
                "not a conversion of the reference model"
            )

    def decode(self, prompt: list[int], gbnf: str, max_tokens: int) -> str:
        from llama_cpp import LlamaGrammar

        grammar = LlamaGrammar.from_string(gbnf, verbose=False)
        out = self.llm.create_completion(
            prompt, grammar=grammar, temperature=0.0, max_tokens=max_tokens
        )
        return out["choices"][0]["text"]

    def logprobs(self, prompt: list[int], completion: list[int]) -> np.ndarray:
        self.llm.reset()
        self.llm.eval(prompt + completion)
        logits = np.asarray(self.llm.scores[len(prompt) - 1 : len(prompt) + len(completion) - 1])
        return _log_softmax_at(logits, completion)

    def file_type(self) -> str:
        """The file type the GGUF declares (F16, Q8_0, Q4_K_M, ...), from the metadata
        llama.cpp has already read (gguf's reader parses the whole vocabulary: 6 s a file)."""
        declared = self.llm.metadata.get(gguf.Keys.General.FILE_TYPE)
        return file_type_name(declared) if declared is not None else "unknown"

    def close(self) -> None:
        self.llm.close()
