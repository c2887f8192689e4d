"""Registry resolution, the user registry and offline behaviour (no network, tmp homes)."""

import tomllib

import pytest

from models import registry
from models.chat_model import ModelError
from models.llamacpp import LlamaCppChatModel
from models.openai_compat import OpenAIChatModel
from models.registry import load_chat_model, pull, register_model


@pytest.fixture(autouse=True)
def home(tmp_path, monkeypatch):
    """A fresh $WAYPOINT_HOME and an empty Hugging Face cache for every test."""
    from huggingface_hub import constants

    monkeypatch.setenv("WAYPOINT_HOME", str(tmp_path / "home"))
    monkeypatch.setattr(constants, "HF_HUB_CACHE", str(tmp_path / "hf"))
    return tmp_path / "home"


def _hub_file(tmp_path, repo, filename, target):
    """Lay out a file in the Hugging Face cache the way hf_hub_download leaves it."""
    folder = tmp_path / "hf" / f"models--{repo.replace('/', '--')}"
    (folder / "refs").mkdir(parents=True)
    (folder / "refs" / "main").write_text("0123abcd")
    snapshot = folder / "snapshots" / "0123abcd"
    snapshot.mkdir(parents=True)
    (snapshot / filename).symlink_to(target)
    return snapshot / filename


def test_the_packaged_registry_is_valid_and_has_the_default():
    entries = registry.registry()
    assert entries["smollm2-135m"].bundled
    assert {e.backend for e in entries.values()} == {"llamacpp", "openai"}
    assert any(getattr(e, "repo", None) for e in entries.values())


def test_the_default_name_resolves_to_the_bundled_file(bundled_path):
    model = load_chat_model()
    assert isinstance(model, LlamaCppChatModel)
    assert model.path == bundled_path and model.name == "smollm2-135m"


def test_a_local_path_wins_and_overrides_reach_the_backend(bundled_path):
    model = load_chat_model(str(bundled_path), n_ctx=1024, name="mine")
    assert model.path == bundled_path and model.n_ctx == 1024 and model.name == "mine"


def test_a_missing_local_path_is_a_clear_error(tmp_path):
    with pytest.raises(ModelError, match="no such model file"):
        load_chat_model(str(tmp_path / "nowhere" / "planner.gguf"))


def test_an_unknown_name_says_where_to_look():
    with pytest.raises(ModelError, match=r"unknown model 'gpt-17'.*waypoint models list"):
        load_chat_model("gpt-17")


def test_an_openai_entry_builds_a_client_without_calling_it():
    model = load_chat_model("local-llamacpp", timeout=3.0)
    assert isinstance(model, OpenAIChatModel)
    assert model.grammar_mode == "gbnf" and model.base_url.startswith("http://127.0.0.1")
    assert model.name == "local-llamacpp"


def test_registered_models_land_in_the_user_file_and_resolve(bundled_path, home, tmp_path):
    link = tmp_path / "planner.gguf"
    link.symlink_to(bundled_path)
    register_model("planner-v1.2", link, base="smollm2-135m", quantization="Q4_1", n_ctx=1024)
    stored = tomllib.loads((home / "models.toml").read_text())
    assert stored["planner-v1.2"]["path"] == str(link)
    assert stored["planner-v1.2"]["quantization"] == "Q4_1"
    model = load_chat_model("planner-v1.2")
    assert model.path == link and model.n_ctx == 1024
    assert registry.status("planner-v1.2", registry.entry_for("planner-v1.2")) == "local"


def test_registering_again_replaces_and_keeps_other_entries(bundled_path, home):
    register_model("a", bundled_path, description="first")
    register_model("b", bundled_path)
    register_model("a", bundled_path, description="second")
    entries = registry.registry()
    assert entries["a"].description == "second" and "b" in entries


def test_a_user_entry_overrides_a_packaged_one(bundled_path, tmp_path):
    link = tmp_path / "other.gguf"
    link.symlink_to(bundled_path)
    register_model("smollm2-135m", link)
    assert load_chat_model().path == link


def test_registering_a_missing_file_or_a_bad_name_is_refused(bundled_path, tmp_path):
    with pytest.raises(ModelError, match="no such file"):
        register_model("x", tmp_path / "absent.gguf")
    with pytest.raises(ModelError, match="must be letters"):
        register_model("has space", bundled_path)


def test_a_registered_file_that_disappeared_is_a_clear_error(bundled_path, tmp_path):
    link = tmp_path / "gone.gguf"
    link.symlink_to(bundled_path)
    register_model("gone", link)
    link.unlink()
    with pytest.raises(ModelError, match=r"gone\.gguf is missing"):
        load_chat_model("gone")


def test_a_broken_user_registry_names_its_file(home):
    home.mkdir()
    (home / "models.toml").write_text('[x]\nbackend = "llamacpp"\n')
    with pytest.raises(ModelError, match=r"models\.toml at x: give exactly one of"):
        registry.registry()
    (home / "models.toml").write_text("[x\n")
    with pytest.raises(ModelError, match="not valid TOML"):
        registry.registry()


def test_a_hub_model_resolves_from_the_cache_offline(bundled_path, home, tmp_path):
    cached = _hub_file(tmp_path, "acme/tiny-GGUF", "tiny.Q4_1.gguf", bundled_path)
    home.mkdir()
    (home / "models.toml").write_text(
        '[tiny]\nbackend = "llamacpp"\nrepo = "acme/tiny-GGUF"\nfile = "tiny.Q4_1.gguf"\n'
    )
    assert registry.status("tiny", registry.entry_for("tiny")) == "downloaded"
    assert load_chat_model("tiny").path == cached
    assert pull("tiny") == cached  # already there: no download, offline or not


def test_a_hub_model_not_in_the_cache_asks_for_pull_and_pull_honours_offline(monkeypatch):
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    entry = registry.entry_for("mistral-7b-instruct-q4")
    assert registry.status("mistral-7b-instruct-q4", entry) == "not downloaded"
    with pytest.raises(ModelError, match="waypoint models pull mistral-7b-instruct-q4"):
        load_chat_model("mistral-7b-instruct-q4")
    with pytest.raises(ModelError, match="HF_HUB_OFFLINE is set"):
        pull("mistral-7b-instruct-q4")


def test_pull_has_nothing_to_do_for_bundled_or_remote_models(bundled_path):
    assert pull("smollm2-135m") == bundled_path
    with pytest.raises(ModelError, match="nothing to download"):
        pull("gpt-4o-mini")
