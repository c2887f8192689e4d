"""GPU offload: the registry's n_gpu_layers and a command's --gpu-layers reach llama.cpp, the
default follows the installed build (every layer with a GPU backend, none without), and a
command says where the layers run. On this CPU-only machine the GPU side is the build's own
answer, read from llama.cpp, not assumed."""

import os
import subprocess
import sys
from pathlib import Path

import llama_cpp
import pytest

from models.offload import ALL_LAYERS, backend_summary, backends, offload_line, resolve_gpu_layers
from models.registry import load_chat_model
from waypoint.config import load_chat_settings

WAYPOINT = str(Path(sys.executable).parent / "waypoint")
GPU_BUILD = bool(llama_cpp.llama_supports_gpu_offload())


@pytest.fixture
def home(tmp_path, monkeypatch):
    """A user registry with the bundled model at n_gpu_layers = 7."""
    home = tmp_path / "home"
    home.mkdir()
    (home / "models.toml").write_text(
        '[pinned]\nbackend = "llamacpp"\nbundled = true\nn_gpu_layers = 7\n'
    )
    monkeypatch.setenv("WAYPOINT_HOME", str(home))
    monkeypatch.delenv("WAYPOINT_GPU_LAYERS", raising=False)
    return home


def test_the_default_follows_the_build():
    assert resolve_gpu_layers(None) == (ALL_LAYERS if GPU_BUILD else 0)
    assert resolve_gpu_layers(0) == 0 and resolve_gpu_layers(12) == 12
    with pytest.raises(ValueError, match="-1 \\(all\\)"):
        resolve_gpu_layers(-2)


def test_the_backends_are_read_from_llama_cpp():
    assert "CPU" in backends()
    summary = backend_summary()
    assert llama_cpp.__version__ in summary and ("GPU offload" in summary)
    assert ("no GPU offload" in summary) is not GPU_BUILD


@pytest.mark.skipif(GPU_BUILD, reason="the line of a CPU-only build")
def test_a_cpu_build_says_so_and_where_to_read_about_cuda():
    line = offload_line(None)
    assert "CPU only: every layer on the CPU" in line and "'GPU offload'" in line
    assert "(--gpu-layers -1 asked for)" in offload_line(-1)


def test_the_registry_field_and_the_flag_reach_the_model(home):
    assert load_chat_model("pinned").n_gpu_layers == 7
    assert load_chat_model("pinned", gpu_layers=0).n_gpu_layers == 0  # the flag wins
    automatic = ALL_LAYERS if GPU_BUILD else 0
    assert load_chat_model("smollm2-135m").n_gpu_layers == automatic
    bad = home / "models.toml"
    bad.write_text('[bad]\nbackend = "llamacpp"\nbundled = true\nn_gpu_layers = -3\n')
    with pytest.raises(Exception, match="n_gpu_layers"):
        load_chat_model("bad")


def test_the_config_and_its_variable_reach_the_model(home, monkeypatch):
    settings = load_chat_settings()
    assert settings.gpu_layers is None  # automatic
    monkeypatch.setenv("WAYPOINT_GPU_LAYERS", "3")
    options = load_chat_settings().model_options(remote=False)
    assert load_chat_model("smollm2-135m", **options).n_gpu_layers == 3
    assert load_chat_settings().model_options(remote=True) == {}  # a server offloads itself


def waypoint(*args: str, home: Path) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "WAYPOINT_HOME": str(home), "HF_HUB_OFFLINE": "1"}
    return subprocess.run([WAYPOINT, *args], env=env, capture_output=True, text=True, timeout=300)


def test_a_command_says_first_where_the_layers_run(home):
    done = waypoint("models", "run", "pinned", "Hi", "--max-tokens", "2", "--gpu-layers", "0",
                    home=home)  # fmt: skip
    assert done.returncode == 0, done.stderr
    first = done.stderr.splitlines()[0]
    assert first.startswith(f"llama.cpp {llama_cpp.__version__}") and "on the CPU" in first
    refused = waypoint("models", "run", "pinned", "Hi", "--gpu-layers", "-2", home=home)
    assert refused.returncode == 2 and "--gpu-layers" in refused.stderr


def test_models_info_names_the_installed_backends(home):
    done = waypoint("models", "info", home=home)
    assert done.returncode == 0, done.stderr
    assert "llama-cpp-python" in done.stdout and "CPU" in done.stdout
