"""The fast decoder on the bundled model: without batches, the same output as llama-cpp-
python's grammar path, every time; the machinery that makes it fast actually at work; and
never a constrained output cut at max_tokens."""

import contextlib
import re
from collections import Counter
from typing import Literal

import llama_cpp
import numpy as np
import pytest
from conftest import searched
from pydantic import BaseModel, Field
from typer.testing import CliRunner

from models.decoding import Sampling, make_decoder
from models.fast_decoding import FastDecoder, Scores
from models.first_bytes import FirstBytes
from models.forced_text import Forced, ForcedText
from models.lazy_choice import LazyChoice
from models.llama_batch import BatchEvaluator
from models.llamacpp import LlamaCppChatModel
from models.matcher import GrammarMatcher
from models.registry import load_chat_model
from models.structured import grammar_for
from planner.prompts import fine_tuned_messages, zero_shot_messages
from schemas.chat import system, user
from schemas.plan import PlanRecord, plan_model
from schemas.trajectory import Scratchpad, Step
from tools.calculate import Calculate
from tools.registry import TOOLS as REGISTRY
from tools.registry import tool_class
from waypoint.cli import app

TOOLS = ["search_wikipedia", "calculate", "ask_user", "send_email", "create_event", "final_answer"]
Plan = plan_model(TOOLS)
PLANNER = system(
    "You are the planner of an agent. Tools: " + ", ".join(TOOLS) + ". Reply with one JSON "
    "object: context (what is known), thoughts (what is needed), task (the next step), tool."
)
REQUESTS = [
    "Who founded Tarrow?",
    "What is 17 times the height of Mount Orla in metres?",
    "Put the Brenn harvest fair in my calendar for next Saturday.",
]


class Stop(BaseModel):
    name: str = Field(max_length=16)
    kind: Literal["capital", "town", "village"]
    rank: int = Field(ge=1, le=99)
    share: float = Field(ge=0, le=1)


class Route(BaseModel):
    """Nested objects, an array of objects, enums, numbers."""

    title: str = Field(max_length=24)
    stops: list[Stop] = Field(min_length=1, max_length=2)
    mode: Literal["train", "bus", "ferry"]
    open: bool


class LongKeys(BaseModel):
    """Keys long enough that most of the output is forced."""

    the_name_of_the_city_being_described_here: str = Field(max_length=12)
    the_population_of_that_city_in_thousands: int = Field(ge=0, le=999)
    whether_the_city_lies_on_the_coast_of_the_sea: bool


@contextlib.contextmanager
def decoding_with(model: LlamaCppChatModel, name_or_decoder):
    """`model` with another decoder for the duration (the model is shared by the session)."""
    saved = model.decoder
    model.decoder = (
        make_decoder(name_or_decoder) if isinstance(name_or_decoder, str) else name_or_decoder
    )
    try:
        yield model
    finally:
        model.decoder = saved


def both(model, messages, **kwargs):
    """The plain and the fast decoders' completions of the same call."""
    with decoding_with(model, "plain"):
        plain = model.complete(messages, **kwargs)
    with decoding_with(model, FastDecoder(batch_forced=False)) as fast_model:
        fast = fast_model.complete(messages, **kwargs)
    return plain, fast


def planner_prompts() -> list[list]:
    """Planner prompts as the agent sends them: zero-shot (every real tool described) and
    fine-tuned, before and after a first step."""
    tools = [tool_class(name) for name in REGISTRY]
    first = Step(
        plan=PlanRecord(context="", thoughts="", task="find it", tool="search_wikipedia"),
        observation="Mount Orla rises 2,314 metres; Tarrow was founded in 1412 by Ida Venn.",
    )
    requests = [
        "What is 17 times the height of Mount Orla in metres?",
        "How many years passed between the founding of Tarrow and that of Lisk?",
        "How old is the mayor of Tarrow?",
        "E-mail the mayor of Vellmar the population of Oskfjord.",
        "Put the Brenn harvest fair in my calendar for next Saturday.",
        "Who founded Tarrow?",
    ]
    pads = [Scratchpad(steps=[first] if i % 2 else []) for i in range(len(requests))]
    pairs = list(zip(requests, pads, strict=True))
    zero_shot = [zero_shot_messages(r, pad, [], tools) for r, pad in pairs]
    return zero_shot + [fine_tuned_messages(r, pad) for r, pad in pairs]


def greedy_tokens(model, decoder, messages, gbnf, n=32):
    """The first `n` greedy tokens of `decoder` (called directly: no budget, no stop), up to
    the end of generation (which the plain decoder yields as a token and the fast one not)."""
    llm = model.llm
    prompt = llm.tokenize(model.template.render(messages).encode(), add_bos=False, special=True)
    stream, tokens = decoder.tokens(llm, prompt, gbnf, Sampling()), []
    for token in stream:
        if llm.token_eos() == token or len(tokens) == n:
            break
        tokens.append(token)
    stream.close()
    return tokens


def test_greedy_output_is_the_plain_decoders_whatever_the_cache_held(chat_model):
    """Regression: a prompt evaluated cold ended in a batch, the same prompt found cached had
    its last token evaluated alone, and llama.cpp's kernels give those different logits. So
    the decoder that ran second (the prompt cached by the first) disagreed with the one that
    ran first on a third of these prompts (bench/constrained_decode.py's fourth prompt too).
    Now every decoder evaluates the last prompt token alone."""
    plain, fast = make_decoder("plain"), FastDecoder(batch_forced=False)
    gbnf = grammar_for(Plan)
    llm = chat_model.llm
    for i, messages in enumerate(planner_prompts()):
        # The cache holds the previous prompt: only the system prompt is shared.
        first, second = (plain, fast) if i % 2 else (fast, plain)
        a = greedy_tokens(chat_model, first, messages, gbnf)
        b = greedy_tokens(chat_model, second, messages, gbnf)  # its prompt found cached
        assert a == b, (i, llm.detokenize(a), llm.detokenize(b))


@pytest.mark.parametrize("request_text", REQUESTS)
def test_greedy_plans_are_identical_to_the_plain_grammar_path(chat_model, request_text):
    messages = [PLANNER, user(f"Request: {request_text}")]
    plain, fast = both(chat_model, messages, schema=Plan, max_tokens=200)
    assert fast.text == plain.text
    assert fast.parsed.tool in TOOLS and fast.finish_reason == plain.finish_reason == "stop"
    assert fast.completion_tokens == plain.completion_tokens


@pytest.mark.parametrize("schema", [Route, LongKeys])
def test_greedy_output_is_identical_for_nested_and_forced_schemas(chat_model, schema):
    messages = [system("You answer in JSON."), user("Describe a trip between two cities.")]
    plain, fast = both(chat_model, messages, schema=schema, max_tokens=160)
    assert fast.text == plain.text
    assert isinstance(fast.parsed, schema)


def test_forced_text_goes_in_as_canonical_tokens_in_one_pass(chat_model):
    """Mostly forced output: once the model has spelled each forced text, most tokens are
    fed without a choice or a pass of their own. (Values may then differ from the plain
    decoder's: bench/constrained_decode.py measures how often plans do.)"""
    messages = [system("You answer in JSON."), user("Describe a city.")]
    batched = FastDecoder(batch_forced=True)
    with decoding_with(chat_model, batched):
        learning = chat_model.complete(messages, schema=LongKeys, max_tokens=160)
        assert batched.batched and batched.stats.forced == 0  # every forced text was new
        result = chat_model.complete(messages, schema=LongKeys, max_tokens=160)
    assert isinstance(result.parsed, LongKeys) and result.finish_reason == "stop"
    assert batched.stats.forced > result.completion_tokens / 2
    assert batched.stats.passes - learning.completion_tokens < result.completion_tokens / 2


@pytest.fixture(scope="module")
def batch_exact_model(bundled_path):
    """The bundled model where a batch's logits equal its tokens' one at a time, bit for
    bit: flash attention on one thread (llama.cpp's CPU attention otherwise sums a batch in
    another order: up to 0.9 apart on this model, enough to tip a near-tie)."""
    return LlamaCppChatModel(bundled_path, n_ctx=2048, n_threads=1, flash_attn=True).load()


def _check_batch(model: LlamaCppChatModel) -> tuple[list[int], list[int]]:
    tokens = model.llm.tokenize(b'{"context":"Ana Lind is the mayor of Vellmar."}' * 3)
    return tokens[:-8], tokens[-8:]


def test_batches_count_as_exact_only_where_they_give_the_one_token_logits(
    chat_model, batch_exact_model, bundled_path
):
    """#18 item 2: the fast decoder batches forced text only where a batch's rows are its
    tokens' one-token logits bit for bit. On a CPU that is a llama.cpp built without
    llamafile's tinyBLAS kernels (they serve f16 attention for two tokens or more), or
    flash attention with one-token passes on one thread (on more, llama.cpp splits one
    token's attention over the threads once 512 cells are cached)."""
    llamafile = "LLAMAFILE = 1" in llama_cpp.llama_print_system_info().decode()
    plain_attention = BatchEvaluator(chat_model.llm)
    assert plain_attention.batch_is_exact(*_check_batch(chat_model)) is not llamafile
    assert BatchEvaluator(batch_exact_model.llm).batch_is_exact(*_check_batch(batch_exact_model))
    flash_threads = LlamaCppChatModel(bundled_path, n_ctx=512, n_threads=2, flash_attn=True)
    assert not BatchEvaluator(flash_threads.llm).batch_is_exact(*_check_batch(flash_threads))
    # what the default fast decoder decides follows: never batches that are not exact
    fast = FastDecoder()
    greedy_tokens(
        chat_model, fast, [PLANNER, user("Request: Who founded Tarrow?")], grammar_for(Plan)
    )
    assert fast.batched is False or not llamafile


@pytest.mark.parametrize("request_text", REQUESTS)
def test_a_draft_the_model_would_split_otherwise_is_rejected(batch_exact_model, request_text):
    """Regression: batched forced text went in as the remembered split unchecked, so a split
    the model would not choose there changed the rest of the plan. Every remembered split
    is spoiled here (one token per byte, which the model never writes): each draft is then
    rejected at its first token, and the plan is still the plain decoder's."""
    model, messages = batch_exact_model, [PLANNER, user(f"Request: {request_text}")]
    batched = FastDecoder(batch_forced=True)
    with decoding_with(model, batched):
        model.complete(messages, schema=Plan, max_tokens=200)  # learns the splits
        forced = batched._engine.forced
        by_byte = forced.first_bytes.byte_tokens
        for key, tokens in forced._learned.items():
            text = b"".join(forced.first_bytes.pieces[t] for t in tokens)
            forced._learned[key] = [by_byte[b] for b in text]
        spoiled = model.complete(messages, schema=Plan, max_tokens=200)
    with decoding_with(model, "plain"):
        plain = model.complete(messages, schema=Plan, max_tokens=200)
    assert batched.stats.rejected > 0
    assert spoiled.text == plain.text


@pytest.mark.parametrize("index", [0, 3, 5, 6, 9, 11])  # both planners, with and without a step
def test_batched_greedy_plans_are_the_plain_decoders_where_batches_are_exact(
    batch_exact_model, index
):
    """Item 0 of exactness with forced text in batches: where the backend gives a batch the
    logits of its tokens one at a time, every draft is checked against the model's own
    choice, so planner prompts (long zero-shot tool lists and fine-tuned ones) decode to the
    plain decoder's plans."""
    model, messages, gbnf = batch_exact_model, planner_prompts()[index], grammar_for(Plan)
    batched = FastDecoder(batch_forced=True)
    plain = greedy_tokens(model, make_decoder("plain"), messages, gbnf, n=64)
    greedy_tokens(model, batched, messages, gbnf, n=64)  # learns the splits
    fast = greedy_tokens(model, batched, messages, gbnf, n=64)
    assert batched.stats.forced > 0
    a, b = model.llm.detokenize(plain), model.llm.detokenize(fast)
    assert a[: len(b)] == b[: len(a)]  # as far as both went (forced text may end a batch)


def test_samples_at_temperature_one_always_validate(chat_model):
    messages = [system("You answer in JSON."), user("Describe a trip between two cities.")]
    texts = set()
    for seed in range(6):
        c = chat_model.complete(messages, schema=Route, temperature=1.0, seed=seed, max_tokens=160)
        assert isinstance(c.parsed, Route)  # closed in time where it ran long ("length")
        texts.add(c.text)
    assert len(texts) > 4
    # A seed gives the same sample: every time without batches; with them once the model's
    # split of each forced text is learned (a first spelling may tip a choice).
    for decoder in [FastDecoder(batch_forced=False), chat_model.decoder]:
        with decoding_with(chat_model, decoder):
            runs = [
                chat_model.complete(
                    messages, schema=Route, temperature=1.0, seed=3, max_tokens=160
                ).text
                for _ in range(3)
            ]
        assert runs[1] == runs[2] and (runs[0] == runs[1] or decoder.batched)
    # top_p < 1 goes to the plain decoder (the nucleus of the masked distribution needs it)
    grammar = 'root ::= "yes" | "no"'
    nucleus = chat_model.complete(messages, grammar=grammar, temperature=1.0, top_p=0.9, seed=1)
    assert nucleus.text in ("yes", "no")


@pytest.mark.parametrize(("schema", "shortest"), [(Plan, 24), (Route, 40)])
def test_a_sample_that_runs_out_of_tokens_is_closed_valid_and_marked(chat_model, schema, shortest):
    """Never cut: near max_tokens the open string ends, missing keys get the shortest values,
    arrays and objects close; the completion validates and says it was shortened."""
    messages = [PLANNER, user(f"Request: {REQUESTS[1]}")]
    shortened = 0
    for seed in range(6):
        max_tokens = shortest + 4 * seed  # its closing fits from the start
        c = chat_model.complete(
            messages, schema=schema, temperature=1.0, seed=seed, max_tokens=max_tokens
        )
        assert isinstance(c.parsed, schema) and c.completion_tokens <= max_tokens
        shortened += c.finish_reason == "length"
    assert shortened >= 3


def test_a_budget_that_fits_leaves_a_nested_pattern_to_the_model(chat_model):
    """Regression: the greedy closing of calculate's arithmetic pattern filled every level
    (`abs(abs(1000 -1000 -1000 ...`, 100+ tokens), so at max_tokens=96 the budget wrote that
    closing from the first token on instead of the model's `1`. A closing now ends nesting."""
    tool = Calculate(chat_model)
    request, task = "Add up the populations of Kelo and Vora.", "Combine the two populations"
    scratchpad = searched("Find Kelo.", "Kelo is a city of 1,901,359 people.")
    schema = tool.call_schema(request, task, scratchpad)
    messages = tool.argument_prompt(request, task, scratchpad)
    plain, fast = both(chat_model, messages, schema=schema, max_tokens=tool.argument_tokens)
    assert fast.text == plain.text and fast.finish_reason == "stop", (fast.text, plain.text)


def test_sampling_follows_the_masked_distribution_exactly(chat_model, vocab):
    """Gumbel-max on the unmasked scores, refused tokens replaced by the masked argmax, is
    softmax(masked logits / T): compare against it where the model's favourites are refused."""
    llm = chat_model.llm
    prompt = chat_model.template.render([user("Pick one.")]).encode()
    prompt = llm.tokenize(prompt, add_bos=False, special=True)
    logits = BatchEvaluator(llm).start(prompt).astype(np.float64)
    choices = ["yes", "no", "maybe", "never", "often"]
    gbnf = "root ::= " + " | ".join(f'"{c}"' for c in choices)
    grammar = GrammarMatcher(vocab, gbnf)
    allowed = np.array([t for t in range(vocab.size) if grammar.allows(t)])
    assert int(np.argmax(logits)) not in allowed  # the lazy check is refused, then corrected
    temperature = 1.5
    exact = np.exp((logits[allowed] - logits[allowed].max()) / temperature)
    exact /= exact.sum()
    choose, scores = LazyChoice(FirstBytes(vocab)), Scores(Sampling(temperature, 1.0, 11))
    n = 1000
    counts = Counter(choose(scores(logits, offset), grammar) for offset in range(n))
    assert set(counts) <= set(allowed.tolist())
    observed = np.array([counts[t] for t in allowed])
    expected = exact * n
    big = expected >= 5  # chi-square over the well-populated cells; the rest pooled
    cells_o = np.append(observed[big], observed[~big].sum())
    cells_e = np.append(expected[big], expected[~big].sum())
    chi2 = ((cells_o - cells_e) ** 2 / np.maximum(cells_e, 1e-9)).sum()
    assert chi2 < 3 * len(cells_o) + 20, (chi2, len(cells_o))


def test_the_candidates_of_a_refusal_are_exactly_the_allowed_tokens(vocab):
    """The first-byte probe sees every allowed token: its mask equals the full-vocabulary
    mask at every state along a plan."""
    grammar = GrammarMatcher(vocab, grammar_for(Plan))
    first_bytes = FirstBytes(vocab)
    choose = LazyChoice(first_bytes)
    text = '{"context":"Ana, née Lind","thoughts":"x","task":"mail her","tool":"send_email"}'
    everything = np.arange(vocab.size, dtype=np.intc)
    tokens = vocab.tokenize(text)
    for i, token in enumerate([*tokens, None]):
        if i % 3 == 0 or token is None:
            full = everything[~first_bytes.refused(grammar, everything)]
            assert np.array_equal(choose.allowed(grammar), full), i
        if token is not None:
            grammar.accept(token)


def test_forced_text_is_found_learned_as_the_model_spells_it_and_ends_without_a_pass(vocab):
    forced = ForcedText(FirstBytes(vocab))
    grammar = GrammarMatcher(vocab, grammar_for(Plan))

    def feed(text):
        for token in vocab.tokenize(text):
            grammar.accept(token)

    start = forced.after(grammar)
    assert start.text == b'{"context":"' and not start.learned and start.tokens == []
    # The model wrote `":` then `"` (where the tokenizer makes `":"` one token), then went on
    # with its own text: its split of the forced text is what goes in from now on.
    spelled = [*vocab.tokenize('{"context'), *vocab.tokenize('":'), *vocab.tokenize('"')]
    assert spelled != vocab.tokenize('{"context":"')
    forced.learn(start.text, [*spelled, *vocab.tokenize("Vell")])
    assert forced.after(grammar).tokens == spelled and forced.after(grammar).learned
    feed('{"context":"Vell"')
    after_string = forced.after(grammar)
    assert after_string.text == b',"thoughts":"' and not after_string.ends
    feed(',"thoughts":"x","task":"y","tool":"send')
    end = forced.after(grammar)
    forced.learn(end.text, vocab.tokenize('_email"}'))
    end = forced.after(grammar)
    assert b"".join(vocab.piece(t) for t in end.tokens) == b'_email"}' and end.ends
    assert forced.after(grammar, max_bytes=0) == Forced([], ends=False)
    feed('_email"}')
    assert forced.after(grammar) == Forced([], ends=True)


def test_a_split_is_learned_per_prompt_and_only_inside_the_forced_text(vocab):
    """Under another prompt the model spells the same key otherwise (the fine-tuned planner
    `though`+`ts`, where a split learned elsewhere was `thought`+`s`): each prompt learns
    its own. A last token that reaches past the forced text (`""` after `{"context":`) is
    not replaced by a canonical `"`: the rest is left to the model."""
    forced = ForcedText(FirstBytes(vocab))
    grammar = GrammarMatcher(vocab, grammar_for(Plan))
    text = forced.after(grammar).text
    spelled = vocab.tokenize('{"context":"')
    forced.learn(text, spelled, scope="fine-tuned")
    assert forced.after(grammar, scope="fine-tuned").tokens == spelled
    assert not forced.after(grammar, scope="zero-shot").learned
    reaching = [*vocab.tokenize('{"context'), *vocab.tokenize('":'), *vocab.tokenize('""')]
    assert vocab.piece(reaching[-1]) == b'""'  # one token, one byte past the forced text
    forced.learn(text, reaching, scope="zero-shot")
    inside = forced.after(grammar, scope="zero-shot")
    assert inside.tokens == reaching[:-1] and not inside.ends


def test_a_later_step_reuses_the_kv_cache_under_the_fast_decoder(chat_model):
    step1 = [PLANNER, user(f"Request: {REQUESTS[1]}")]
    step2 = [PLANNER, user(f"Request: {REQUESTS[1]}\n\nSteps taken:\n1. found the height")]
    chat_model.complete(step1, schema=Plan, max_tokens=200)
    second = chat_model.complete(step2, schema=Plan, max_tokens=200)
    assert second.cached_tokens > 60
    assert second.cached_tokens > second.prompt_tokens - 20


def test_the_decoder_is_chosen_in_the_registry_and_on_the_command_line(tmp_path, monkeypatch):
    monkeypatch.setenv("WAYPOINT_HOME", str(tmp_path))
    (tmp_path / "models.toml").write_text(
        '[smollm2-135m]\nbackend = "llamacpp"\nbundled = true\ndecoder = "plain"\n'
    )
    assert type(load_chat_model("smollm2-135m").decoder).__name__ == "PlainDecoder"
    assert isinstance(load_chat_model("smollm2-135m", decoder="fast").decoder, FastDecoder)
    assert load_chat_model("smollm2-135m", decoder="exact").decoder.batch_forced is False
    args = ["models", "run", "smollm2-135m", "Say yes.", "--max-tokens", "3", "--threads", "1"]
    args.append("--decoder")
    result = CliRunner().invoke(app, [*args, "plain"])
    assert result.exit_code == 0, result.output
    assert re.search(r"\d tokens, [\d.]+ tok/s", result.output)
    refused = CliRunner().invoke(app, [*args, "turbo"])
    assert refused.exit_code != 0 and "unknown decoder 'turbo'" in str(refused.exception)
