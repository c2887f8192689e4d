"""LlamaCppChatModel on the bundled model: real decoding, no fakes."""

from typing import Literal

import pytest
from pydantic import BaseModel, Field

from models import llamacpp
from models.chat_model import CompletionError, ModelError
from models.chat_template import ChatTemplate
from models.llamacpp import LlamaCppChatModel, physical_cores
from schemas.chat import assistant, system, user
from schemas.errors import WaypointError


class Pick(BaseModel):
    city: str = Field(max_length=16)
    kind: Literal["capital", "town", "village"]
    rank: int = Field(ge=1, le=99)
    tags: list[Literal["old", "big", "coastal"]] = Field(max_length=2)
    note: str | None = Field(max_length=12)


ASK = [system("You answer in JSON."), user("Name a city and describe it.")]


def test_schema_constrained_samples_at_temperature_one_always_validate(chat_model):
    texts = set()
    for seed in range(12):
        c = chat_model.complete(ASK, schema=Pick, temperature=1.0, seed=seed, max_tokens=120)
        assert isinstance(c.parsed, Pick), c.text
        assert c.finish_reason == "stop"
        assert c.completion_tokens > 0 and c.prompt_tokens > 0
        assert c.timings.decode_ms > 0
        texts.add(c.text)
    assert len(texts) > 6, "temperature 1.0 should give different samples"


def test_same_seed_gives_same_sample(chat_model):
    first = chat_model.complete(ASK, schema=Pick, temperature=1.0, seed=7, max_tokens=120)
    again = chat_model.complete(ASK, schema=Pick, temperature=1.0, seed=7, max_tokens=120)
    assert first.text == again.text


def test_a_json_schema_dict_is_enforced_and_parsed(chat_model):
    schema = {
        "type": "object",
        "properties": {"answer": {"enum": ["yes", "no"]}, "sure": {"type": "boolean"}},
        "required": ["answer", "sure"],
        "additionalProperties": False,
    }
    c = chat_model.complete([user("Is Paris in France?")], schema=schema, temperature=1.0, seed=3)
    assert c.parsed["answer"] in ("yes", "no") and isinstance(c.parsed["sure"], bool)
    assert list(c.parsed) == ["answer", "sure"]


def test_cut_off_json_is_an_error_not_a_result(chat_model):
    with pytest.raises(CompletionError, match="max_tokens=4") as caught:
        chat_model.complete(ASK, schema=Pick, max_tokens=4)
    assert caught.value.completion.finish_reason == "length"
    assert caught.value.completion.completion_tokens == 4


def test_a_raw_grammar_constrains_the_text(chat_model):
    c = chat_model.complete([user("Yes or no?")], grammar='root ::= "yes" | "no"', temperature=1.0)
    assert c.text in ("yes", "no")
    assert c.parsed is None


def test_an_unparsable_grammar_is_a_clear_error(chat_model):
    with pytest.raises(WaypointError, match="grammar"):
        chat_model.complete([user("hi")], grammar='root ::= ("unclosed"')


def test_schema_and_grammar_together_are_refused(chat_model):
    with pytest.raises(ValueError, match="not both"):
        chat_model.complete([user("hi")], schema=Pick, grammar='root ::= "x"')


def test_stream_yields_the_same_text_as_complete(chat_model):
    messages = [user("Count from one to ten in words.")]
    pieces = list(chat_model.stream(messages, max_tokens=40))
    assert len([p for p in pieces if p]) > 5
    assert "".join(pieces) == chat_model.complete(messages, max_tokens=40).text


def test_stream_validates_a_schema_at_the_end(chat_model):
    with pytest.raises(CompletionError):
        list(chat_model.stream(ASK, schema=Pick, max_tokens=4))


def test_a_stop_string_ends_the_text_before_it(chat_model):
    messages = [user("Count from one to ten in words.")]
    full = chat_model.complete(messages, max_tokens=40).text
    stop = full[12:15]
    expected = full[: full.index(stop)]
    assert chat_model.complete(messages, max_tokens=40, stop=[stop]).text == expected
    assert "".join(chat_model.stream(messages, max_tokens=40, stop=[stop])) == expected


def _prompt_tokens(model, messages):
    return model.llm.tokenize(model.template.render(messages).encode(), add_bos=False, special=True)


def _common_prefix(a, b):
    n = 0
    while n < min(len(a), len(b)) and a[n] == b[n]:
        n += 1
    return n


def test_a_later_step_reuses_the_kv_cache_of_the_shared_prefix(chat_model):
    rules = system("You are a planner. " + "Pick one tool per step and say why. " * 20)
    step1 = [rules, user("Request: mail the mayor of Vell.")]
    step2 = [*step1, assistant('{"task":"find the mayor"}'), user("Observation: Ana Lind.")]
    chat_model.prompt_cache.clear()  # no prefix kept from an earlier test
    chat_model.complete([user("Something unrelated, to start cold.")], max_tokens=2)
    first = chat_model.complete(step1, max_tokens=8)
    second = chat_model.complete(step2, max_tokens=8)
    shared = _common_prefix(_prompt_tokens(chat_model, step1), _prompt_tokens(chat_model, step2))
    assert first.cached_tokens < 10  # only the template's opening matched the cold prompt
    assert second.cached_tokens >= shared > 150
    assert second.prompt_tokens - second.cached_tokens < second.prompt_tokens / 3


def test_the_planner_and_a_tool_keep_their_own_cached_prefixes(chat_model):
    """A tool's call in between used to overwrite the planner's prefix: the planner's next
    step read its whole prompt again."""
    rules = system("You are a planner. " + "Pick one tool per step and say why. " * 20)
    step1 = [rules, user("Request: mail the mayor of Vell.")]
    step2 = [*step1, assistant('{"task":"find the mayor"}'), user("Observation: Ana Lind.")]
    tool = system("You write the arguments of an e-mail. " + "Use the task's words. " * 20)
    shared = _common_prefix(_prompt_tokens(chat_model, step1), _prompt_tokens(chat_model, step2))
    cache = chat_model.prompt_cache
    for keep, expect_reuse in [(0, False), (4, True)]:
        cache.clear()
        cache.keep = keep
        try:
            chat_model.complete([user("Something unrelated, to start cold.")], max_tokens=2)
            chat_model.complete(step1, max_tokens=8)
            first_tool = chat_model.complete([tool, user("Task: mail Ana Lind.")], max_tokens=4)
            second = chat_model.complete(step2, max_tokens=8)
            again = chat_model.complete([tool, user("Task: mail Ida Venn.")], max_tokens=4)
        finally:
            cache.keep = 4
        assert (second.cached_tokens >= shared) == expect_reuse, keep
        assert (again.cached_tokens > first_tool.prompt_tokens - 12) == expect_reuse, keep


def test_a_prompt_longer_than_the_context_is_a_clear_error(chat_model):
    with pytest.raises(ModelError, match="n_ctx=2048"):
        chat_model.complete([user("word " * 3000)])


def test_an_unknown_decoder_is_refused(bundled_path):
    with pytest.raises(ModelError, match="unknown decoder 'turbo'"):
        LlamaCppChatModel(bundled_path, decoder="turbo")


@pytest.mark.parametrize(
    ("physical", "usable", "threads"),
    [(4, 8, 4), (4, 2, 2), (None, 3, 3), (2, 2, 2)],
)
def test_the_default_thread_count_is_one_per_usable_physical_core(
    monkeypatch, physical, usable, threads
):
    # llama-cpp-python's own default, half the logical CPUs, is 1 on a 2-core VM
    monkeypatch.setattr(llamacpp.psutil, "cpu_count", lambda logical=True: physical)
    monkeypatch.setattr(llamacpp.os, "sched_getaffinity", lambda pid: set(range(usable)))
    assert physical_cores() == threads


def test_a_model_without_a_thread_count_runs_on_every_physical_core(bundled_path):
    model = LlamaCppChatModel(bundled_path, n_ctx=256)
    params = model.llm.context_params
    assert params.n_threads == params.n_threads_batch == physical_cores()
    model.llm.close()


def test_a_missing_file_is_one_clear_error(tmp_path):
    with pytest.raises(ModelError, match="no such model file") as caught:
        LlamaCppChatModel(tmp_path / "absent.gguf")
    assert "absent.gguf" in str(caught.value)


def test_a_file_that_is_not_gguf_is_refused_before_llama_cpp_sees_it(tmp_path):
    fake = tmp_path / "fake.gguf"
    fake.write_text("not a model")
    with pytest.raises(ModelError, match="not a GGUF file"):
        LlamaCppChatModel(fake)


def test_a_truncated_gguf_fails_to_load_with_one_clear_error(bundled_path, tmp_path):
    truncated = tmp_path / "truncated.gguf"
    with bundled_path.open("rb") as src, truncated.open("wb") as dst:
        dst.write(src.read(4_000_000))
    model = LlamaCppChatModel(truncated, n_threads=1)  # the magic is intact
    with pytest.raises(ModelError, match="cannot load") as caught:
        model.load()
    assert str(truncated) in str(caught.value) and "\n" not in str(caught.value)


def test_a_system_role_is_folded_into_the_first_user_turn_when_the_template_refuses_it():
    # Mistral-style template: roles must alternate user/assistant, no system role.
    template = ChatTemplate(
        "{% for m in messages %}{% if (m['role'] == 'user') != (loop.index0 % 2 == 0) %}"
        "{{ raise_exception('roles must alternate') }}{% endif %}"
        "[{{ m['role'] }}] {{ m['content'] }}\n{% endfor %}",
        bos_token="<s>",
        eos_token="</s>",
        model="mistral-like",
    )
    assert template.render([system("Be brief."), user("Hi.")]) == "[user] Be brief.\n\nHi.\n"
    with pytest.raises(ModelError, match="refused the messages"):
        template.render([assistant("first"), user("Hi.")])


def test_the_bundled_template_renders_a_system_prompt_as_chatml(chat_model):
    prompt = chat_model.template.render([system("Be brief."), user("Hi.")])
    assert prompt == (
        "<|im_start|>system\nBe brief.<|im_end|>\n<|im_start|>user\nHi.<|im_end|>\n"
        "<|im_start|>assistant\n"
    )
