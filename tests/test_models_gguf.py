"""GGUF metadata and the `waypoint models` commands, on the bundled file and broken copies."""

import os
import subprocess
import sys
from pathlib import Path

import pytest

from models.chat_model import ModelError
from models.gguf_info import read_gguf_info


@pytest.fixture(scope="module")
def bundled_info(bundled_path):
    return read_gguf_info(bundled_path)


def _truncated(source: Path, folder: Path, n_bytes: int) -> Path:
    copy = folder / f"cut-{n_bytes}.gguf"
    with source.open("rb") as src, copy.open("wb") as dst:
        dst.write(src.read(n_bytes))
    return copy


def test_info_of_the_bundled_model(bundled_info, bundled_path):
    info = bundled_info
    assert info.architecture == "llama" and info.file_type == "Q4_1"
    assert 130e6 < info.parameters < 140e6  # SmolLM2-135M
    assert info.context_length == 8192 and info.has_chat_template
    assert info.size_bytes == bundled_path.stat().st_size and info.tensor_count == 272


@pytest.mark.parametrize("n_bytes", [200_000, 50_000_000])
def test_a_truncated_copy_is_one_clear_error(bundled_path, tmp_path, n_bytes):
    # 200 kB ends inside the vocabulary; 50 MB inside the tensor data.
    copy = _truncated(bundled_path, tmp_path, n_bytes)
    with pytest.raises(ModelError, match="truncated or corrupt") as caught:
        read_gguf_info(copy)
    assert str(copy) in str(caught.value)


def test_a_file_that_is_not_gguf(tmp_path):
    other = tmp_path / "notes.gguf"
    other.write_bytes(b"PK\x03\x04 a zip, not a model")
    with pytest.raises(ModelError, match="not a GGUF file"):
        read_gguf_info(other)


def _waypoint(*args: str, home: Path) -> subprocess.CompletedProcess:
    command = Path(sys.executable).parent / "waypoint"
    env = os.environ | {"WAYPOINT_HOME": str(home), "HF_HUB_OFFLINE": "1", "COLUMNS": "200"}
    return subprocess.run([command, *args], capture_output=True, text=True, env=env, timeout=120)


def test_cli_info_list_and_errors(bundled_path, tmp_path):
    shown = _waypoint("models", "info", "smollm2-135m", home=tmp_path)
    assert shown.returncode == 0, shown.stderr
    assert "Q4_1" in shown.stdout and "llama" in shown.stdout and "134.5 M" in shown.stdout

    listed = _waypoint("models", "list", home=tmp_path)
    assert listed.returncode == 0 and "smollm2-135m" in listed.stdout and "bundled" in listed.stdout

    broken = _truncated(bundled_path, tmp_path, 200_000)
    for args in (
        ["info", str(broken)],
        ["info", "no-such-model"],
        ["pull", "mistral-7b-instruct-q4"],
    ):
        failed = _waypoint("models", *args, home=tmp_path)
        assert failed.returncode != 0, args
        assert failed.stderr.startswith("error:") and len(failed.stderr.strip().splitlines()) == 1
        assert "Traceback" not in failed.stderr
