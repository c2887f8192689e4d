"""The fast decoder on the bundled model: the same output as llama-cpp-python's grammar
path, every time, and the machinery that makes it fast actually at work."""

import contextlib
import dataclasses
import re
from collections import Counter
from typing import Literal

import numpy as np
import pytest
from pydantic import BaseModel, Field
from typer.testing import CliRunner

from models.decoding import Sampling, make_decoder
from models.fast_decoding import FastDecoder, Scores
from models.first_bytes import FirstBytes
from models.grammar_draft import Draft, GrammarDraft
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
    with decoding_with(model, FastDecoder()) as fast_model:
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
    plain, fast = make_decoder("plain"), FastDecoder(batch_drafts=False)
    gbnf = grammar_for(Plan)
    llm = chat_model.llm
    for i, messages in enumerate(planner_prompts()):
        # The cache holds the previous prompt: only the system prompt is shared.
        first, second = (plain, fast) if i % 2 else (fast, plain)
        a = greedy_tokens(chat_model, first, messages, gbnf)
        b = greedy_tokens(chat_model, second, messages, gbnf)  # its prompt found cached
        assert a == b, (i, llm.detokenize(a), llm.detokenize(b))


@pytest.fixture(scope="module")
def flash_model(bundled_path):
    """With flash attention, batched logits equal one-token logits: drafts are verified in
    batches (forced on: on a 2-core CPU the timing check alone would leave them off)."""
    model = LlamaCppChatModel(
        bundled_path, n_ctx=2048, n_threads=1, flash_attn=True, decoder=FastDecoder(True)
    )
    return model.load()


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


def fast_and_plain(model, messages, schema):
    """The model's own (fast) completion, the plain one, and the fast decoder's counts for it."""
    fast = model.decoder
    before = dataclasses.replace(fast.stats)
    with decoding_with(model, "plain"):
        plain = model.complete(messages, schema=schema, max_tokens=200)
    result = model.complete(messages, schema=schema, max_tokens=200)
    assert result.text == plain.text
    drafted, accepted = (fast.stats.drafted - before.drafted, fast.stats.accepted - before.accepted)
    return result, drafted, accepted


def test_drafts_are_verified_in_batches_rolled_back_when_refused_and_change_nothing(
    flash_model,
):
    messages = [PLANNER, user(f"Request: {REQUESTS[0]}")]
    _, drafted, accepted = fast_and_plain(flash_model, messages, Plan)
    assert flash_model.decoder.batched
    assert 0 < accepted < drafted  # draft tokens the model chose, and some it did not
    # How the model itself wrote each forced text is remembered: fewer refusals next time.
    _, drafted_again, accepted_again = fast_and_plain(flash_model, messages, Plan)
    assert drafted_again - accepted_again < drafted - accepted
    # Mostly forced output: most tokens come from drafts.
    forced = [system("You answer in JSON."), user("Describe a city.")]
    result, drafted, accepted = fast_and_plain(flash_model, forced, LongKeys)
    assert accepted > result.completion_tokens / 2


def test_batched_logits_equal_one_token_logits_with_flash_attention(flash_model, vocab):
    tokens = vocab.tokenize('{"context":"Ana Lind is the mayor of Vellmar and of Oskfjord."}' * 2)
    check = BatchEvaluator(flash_model.llm).check_batches(tokens[:-6], tokens[-6:])
    assert check.exact and check.cost > 0


def test_samples_at_temperature_one_always_validate(chat_model):
    messages = [system("You answer in JSON."), user("Describe a trip between two cities.")]
    texts = set()
    for seed in range(6):
        c = chat_model.complete(messages, schema=Route, temperature=1.0, seed=seed, max_tokens=160)
        assert isinstance(c.parsed, Route) and c.finish_reason == "stop"
        texts.add(c.text)
    assert len(texts) > 4
    again = chat_model.complete(messages, schema=Route, temperature=1.0, seed=3, max_tokens=160)
    assert again.text in texts  # a seed gives the same sample
    # top_p < 1 goes to the plain decoder (the nucleus of the masked distribution needs it)
    grammar = 'root ::= "yes" | "no"'
    nucleus = chat_model.complete(messages, grammar=grammar, temperature=1.0, top_p=0.9, seed=1)
    assert nucleus.text in ("yes", "no")


def test_sampling_follows_the_masked_distribution_exactly(chat_model, vocab):
    """Gumbel-max on the unmasked scores, refused tokens replaced by the masked argmax, is
    softmax(masked logits / T): compare against it where the model's favourites are refused."""
    llm = chat_model.llm
    prompt = chat_model.template.render([user("Pick one.")]).encode()
    prompt = llm.tokenize(prompt, add_bos=False, special=True)
    logits = BatchEvaluator(llm).start(prompt)[0].astype(np.float64)
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
    counts = Counter(choose(scores(logits), grammar) for _ in range(n))
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


def test_forced_text_becomes_a_draft_and_the_end_needs_no_forward_pass(vocab):
    draft = GrammarDraft(FirstBytes(vocab))
    grammar = GrammarMatcher(vocab, grammar_for(Plan))

    def feed(text):
        for token in vocab.tokenize(text):
            grammar.accept(token)

    start = draft.propose(grammar)
    assert b"".join(vocab.piece(t) for t in start.tokens) == b'{"context":"'
    feed('{"context":"Vell"')
    after_string = draft.propose(grammar)
    assert b"".join(vocab.piece(t) for t in after_string.tokens) == b',"thoughts":"'
    assert not after_string.ends
    feed(',"thoughts":"x","task":"y","tool":"send')
    end = draft.propose(grammar)
    assert b"".join(vocab.piece(t) for t in end.tokens) == b'_email"}' and end.ends
    assert draft.propose(grammar, max_bytes=0).tokens == []
    feed('_email"}')
    assert draft.propose(grammar) == Draft([], ends=True)


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
    args = ["models", "run", "smollm2-135m", "Say yes.", "--max-tokens", "3", "--threads", "1"]
    args.append("--decoder")
    result = CliRunner().invoke(app, [*args, "plain"])
    assert result.exit_code == 0, result.output
    assert re.search(r"\d tokens, [\d.]+ tok/s", result.output)
    refused = CliRunner().invoke(app, [*args, "turbo"])
    assert refused.exit_code != 0 and "unknown decoder 'turbo'" in str(refused.exception)
