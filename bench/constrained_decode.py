"""Constrained decoding speed: (a) unconstrained, (b) llama-cpp-python's grammar path (the
`plain` decoder), (c) the `exact` decoder (lazy grammar check, forced text token by token),
(d) the `fast` decoder (forced text in batches where that pays) — same model, same planner
prompts, greedy.

Each prompt is decoded by (b), (c) and (d) under the planner's Plan grammar to its end, and by
(a) without a grammar for as many tokens as (b) produced. (c) must give (b)'s output token for
token; (d) may differ where the model would have spelled forced text otherwise, and the share
of plans with (b)'s text is reported. A rate is the plain plan's tokens over a variant's time
for the same prompt (the time to (b)'s plan); `own_tok_s` counts a variant's own tokens
instead (a plan that diverged may be longer or shorter). The prompt is cached before timing,
so the clock covers the tokens: from the call to the last token, and for (b)-(d) on to the
end of generation (which (b) learns from one more forward pass, and (c) and (d) from their
grammar). Runs are interleaved; figures are medians over repeats, and ratios are medians of
ratios measured side by side in a repeat.

By default both attention settings run (flash attention changes what a pass costs on a CPU).
The last line printed is JSON; its top-level ratios are those of `fast` in the first setting.
With --plans N, N planner prompts of the atlas world (zero-shot and fine-tuned, at every step
of their solutions: bench/planner_prompts.py) are decoded by (b), by (d) and by (d) with
forced text always batched: the share of identical greedy plans, and the speed of each.
(d) batches only where a batch gives its tokens' one-token logits (checked at load): with
llama.cpp built without llamafile's kernels (CMAKE_ARGS="-DGGML_LLAMAFILE=OFF"), or with
flash attention and one-token passes on one thread.

    python bench/constrained_decode.py
    python bench/constrained_decode.py --threads 1 --repeats 3 --attention off --plans 200

With flash attention, a batch's logits equal its tokens' one at a time when one-token passes
run on one thread, whatever the batches run on (--threads 2 --decode-threads 1): there the
plans are all identical, at the cost of one-token passes on one thread.
"""

import argparse
import json
import statistics
import sys
import time
from collections.abc import Generator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import llama_cpp
from planner_prompts import planner_prompts

from models.decoding import Decoder, PlainDecoder, Sampling
from models.fast_decoding import FastDecoder, ForcedStats
from models.llamacpp import LlamaCppChatModel
from models.registry import load_chat_model
from models.structured import grammar_for
from schemas.chat import Message, system, user
from schemas.plan import plan_model
from tools.registry import tool_class

# The agent's own tools, with the one-line descriptions the planner sees.
NAMES = ["search_wikipedia", "calculate", "ask_user", "send_email", "create_event", "final_answer"]
TOOLS = {name: tool_class(name).description for name in NAMES}
PLANNER = """\
You are the planner of an agent. At each step, decide what to do next: write one task in
plain words and choose the one tool that carries it out. The tool sees only the task.

Tools:
{tools}

Reply with one JSON object with these fields, in this order: context (what is known so
far), thoughts (what is still needed and why), task (the next step), tool (a tool name)."""
REQUESTS = [
    ("E-mail the mayor of Vellmar the population of Oskfjord.", ""),
    ("How many years passed between the founding of Tarrow and that of Lisk?", ""),
    (
        "Put the Brenn harvest fair in my calendar.",
        "1. task: find the date of the Brenn harvest fair (search_wikipedia)\n"
        "   result: The Brenn harvest fair is held on 14 September in the town square.",
    ),
    (
        "What is 17 times the height of Mount Orla in metres?",
        "1. task: find the height of Mount Orla (search_wikipedia)\n"
        "   result: Mount Orla rises 2,314 metres above the sea.",
    ),
]
GREEDY = Sampling()


def planner_messages() -> list[list[Message]]:
    tools = "\n".join(f"- {name}: {text}" for name, text in TOOLS.items())
    head = system(PLANNER.format(tools=tools))
    return [
        [head, user(f"Request: {request}\n\nSteps taken:\n{steps or '(none yet)'}")]
        for request, steps in REQUESTS
    ]


@dataclass
class Run:
    tokens: list[int]
    seconds: float


def timed(
    model: LlamaCppChatModel,
    decoder: Decoder,
    prompt: list[int],
    gbnf: str | None,
    limit: int | None = None,
) -> Run:
    """Decode to the end of generation (or `limit` tokens, whatever comes), timed."""
    llm, tokens = model.llm, []
    start = time.perf_counter()
    stream: Generator[int, Any, None] = decoder.tokens(llm, prompt, gbnf, GREEDY)
    for token in stream:
        if gbnf is not None and llama_cpp.llama_vocab_is_eog(model._vocab, token):
            break
        tokens.append(token)
        if len(tokens) == limit:
            break
    stream.close()
    return Run(tokens, time.perf_counter() - start)


class Setting:
    """One attention setting: a model, its prompts, and the variants timed on them."""

    def __init__(self, name: str, model: LlamaCppChatModel) -> None:
        self.name, self.model = name, model
        self.plain = PlainDecoder()
        self.fast = {"exact": FastDecoder(batch_forced=False), "fast": FastDecoder()}
        self.gbnf = grammar_for(plan_model(list(TOOLS)))
        self.prompts = [prompt_tokens(model, m) for m in planner_messages()]
        self.lengths: list[int] = []
        self.identical = dict.fromkeys(self.fast, 0)  # prompts decoded as (b) decodes them
        self.runs = 0

    def warm_up(self) -> None:
        """Build the fast decoders' tables and fix each prompt's plan length."""
        for prompt in self.prompts:
            self.lengths.append(len(timed(self.model, self.plain, prompt, self.gbnf).tokens))
            for fast in self.fast.values():
                timed(self.model, fast, prompt, self.gbnf)
        for fast in self.fast.values():
            fast.stats = ForcedStats()

    def repeat(self) -> dict[str, float]:
        """Tokens per second of each variant over all prompts, interleaved."""
        seconds = dict.fromkeys(["unconstrained", "plain_grammar", *self.fast], 0.0)
        written = dict.fromkeys(self.fast, 0)  # each variant's own tokens (it may diverge)
        for prompt, n in zip(self.prompts, self.lengths, strict=True):
            timed(self.model, self.plain, prompt, None, 1)  # cache the prompt: time decoding
            seconds["unconstrained"] += timed(self.model, self.plain, prompt, None, n).seconds
            plain = timed(self.model, self.plain, prompt, self.gbnf)
            seconds["plain_grammar"] += plain.seconds
            for name, fast in self.fast.items():
                run = timed(self.model, fast, prompt, self.gbnf)
                self.identical[name] += self.same(run, plain, fast)
                seconds[name] += run.seconds
                written[name] += len(run.tokens)
            self.runs += 1
        rates = {k: sum(self.lengths) / s for k, s in seconds.items()}
        return rates | {f"{k}_own": written[k] / seconds[k] for k in self.fast}

    def same(self, run: Run, plain: Run, decoder: FastDecoder) -> bool:
        """A decoder without batches must give the plain decoder's tokens; one with them,
        its text (forced text may go in as another split of the same bytes)."""
        if not decoder.batched:
            return run.tokens == plain.tokens
        detokenize = self.model.llm.detokenize
        return detokenize(run.tokens) == detokenize(plain.tokens)

    def summary(self, rates: list[dict[str, float]]) -> dict[str, Any]:
        def median(key: str) -> float:
            return statistics.median(r[key] for r in rates)

        def ms(key: str) -> float:
            return 1000 / median(key)

        result: dict[str, Any] = {
            "tokens_per_repeat": sum(self.lengths),
            "identical_greedy_output": self.identical["exact"] == self.runs,
            "unconstrained_tok_s": round(median("unconstrained"), 2),
            "plain_grammar_tok_s": round(median("plain_grammar"), 2),
            # What bounds a decoder without batches: a forward pass per token, where plain
            # adds a full-vocabulary mask.
            "forward_pass_ms": round(ms("unconstrained"), 1),
            "plain_mask_ms": round(ms("plain_grammar") - ms("unconstrained"), 1),
        }
        for name, fast in self.fast.items():
            result[name] = {
                "batched_forced_text": fast.batched,
                "tok_s": round(median(name), 2),
                "own_tok_s": round(median(f"{name}_own"), 2),  # its own output's tokens
                "ms_per_token": round(ms(name), 1),
                "ratio_vs_unconstrained": _ratio(rates, name, "unconstrained"),
                "ratio_vs_plain_grammar": _ratio(rates, name, "plain_grammar"),
                "identical_to_plain": f"{self.identical[name]}/{self.runs}",
                "forced_tokens": fast.stats.forced,
                "rejected_draft_tokens": fast.stats.rejected,
                "forward_passes": fast.stats.passes,
            }
        return result


def prompt_tokens(model: LlamaCppChatModel, messages: list[Message]) -> list[int]:
    return model.llm.tokenize(model.template.render(messages).encode(), add_bos=False, special=True)


def plan_share(model: LlamaCppChatModel, count: int) -> dict[str, Any]:
    """The plain decoder against the fast one on `count` atlas planner prompts, as it decides
    at load (`fast`) and with forced text always batched (`batched`): identical greedy
    plans, and each one's speed (the plain plans' tokens over each decoder's time, in all)."""
    plain = PlainDecoder()
    variants = {"fast": FastDecoder(), "batched": FastDecoder(batch_forced=True)}
    prompts = planner_prompts(model, count)
    for decoder in variants.values():  # the fast decoder's checks at load stay off the clock
        timed(
            model,
            decoder,
            prompt_tokens(model, prompts[0].messages),
            grammar_for(prompts[0].schema),
        )
    identical = dict.fromkeys(variants, 0)
    tokens, seconds = 0, dict.fromkeys(["plain_grammar", *variants], 0.0)
    by_planner: dict[str, list[int]] = {}
    for prompt in prompts:
        tokens_in = prompt_tokens(model, prompt.messages)
        gbnf = grammar_for(prompt.schema)
        timed(model, plain, tokens_in, None, 1)  # cache the prompt: time decoding
        a = timed(model, plain, tokens_in, gbnf)
        tokens += len(a.tokens)
        seconds["plain_grammar"] += a.seconds
        for name, decoder in variants.items():
            b = timed(model, decoder, tokens_in, gbnf)
            same = model.llm.detokenize(a.tokens) == model.llm.detokenize(b.tokens)
            identical[name] += same
            seconds[name] += b.seconds
            if name == "batched":
                by_planner.setdefault(prompt.planner, []).append(same)
    return {
        "plans": len(prompts),
        "batched_forced_text": variants["fast"].batched,  # as decided at load
        **{f"share_identical_{k}": round(v / len(prompts), 4) for k, v in identical.items()},
        "share_identical_batched_by_planner": {
            k: round(sum(v) / len(v), 4) for k, v in by_planner.items()
        },
        "forced_tokens_batched": variants["batched"].stats.forced,
        "rejected_draft_tokens_batched": variants["batched"].stats.rejected,
        **{f"{k}_tok_s": round(tokens / v, 2) for k, v in seconds.items()},
        **{
            f"{k}_ratio_vs_plain_grammar": round(seconds["plain_grammar"] / seconds[k], 3)
            for k in variants
        },
    }


def _ratio(rates: list[dict[str, float]], key: str, over: str) -> float:
    """The median of the ratios measured side by side, repeat by repeat."""
    return round(statistics.median(r[key] / r[over] for r in rates), 3)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", default="smollm2-135m", help="a registry name or a GGUF")
    parser.add_argument("--threads", type=int, default=1, help="llama.cpp threads")
    parser.add_argument(
        "--decode-threads", type=int, help="threads of one-token passes (default: --threads)"
    )
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--attention", choices=["off", "flash", "both"], default="both")
    parser.add_argument("--plans", type=int, default=0, help="atlas planner prompts to compare")
    args = parser.parse_args()
    settings = []
    for name in ["off", "flash"] if args.attention == "both" else [args.attention]:
        model = load_chat_model(args.model, n_threads=args.threads, flash_attn=name == "flash")
        if not isinstance(model, LlamaCppChatModel):
            parser.error(f"{args.model} is not an in-process GGUF model")
        if args.decode_threads:  # llama.cpp runs batches on n_threads_batch, one token on n_threads
            llama_cpp.llama_set_n_threads(model.llm.ctx, args.decode_threads, args.threads)
        settings.append(Setting(name, model.load()))
    for setting in settings:
        setting.warm_up()
    rates: dict[str, list[dict[str, float]]] = {s.name: [] for s in settings}
    for _ in range(args.repeats):
        for setting in settings:
            rates[setting.name].append(setting.repeat())
    results = {s.name: s.summary(rates[s.name]) for s in settings}
    for name, result in results.items():
        print(f"attention={name}: {json.dumps(result)}")
    first = results[settings[0].name]
    headline: dict[str, Any] = {
        "bench": "constrained_decode",
        "model": settings[0].model.name,
        "threads": args.threads,
        "decode_threads": args.decode_threads or args.threads,
        "repeats": args.repeats,
        "attention": settings[0].name,
        "ratio_vs_unconstrained": first["fast"]["ratio_vs_unconstrained"],
        "ratio_vs_plain_grammar": first["fast"]["ratio_vs_plain_grammar"],
        "exact_ratio_vs_unconstrained": first["exact"]["ratio_vs_unconstrained"],
        "identical_greedy_output": all(r["identical_greedy_output"] for r in results.values()),
    }
    if args.plans:
        headline["plans"] = plan_share(settings[0].model, args.plans)
        print(f"plans: {json.dumps(headline['plans'])}")
    print(json.dumps(headline | {"settings": results}))


if __name__ == "__main__":
    main()
