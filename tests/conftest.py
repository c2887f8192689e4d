"""Shared fixtures. Tests run offline on the bundled model; heavy objects are session-scoped."""

import os

import pytest

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")


@pytest.fixture(scope="session")
def bundled_path():
    from models.bundled import bundled_model_path

    return bundled_model_path()


@pytest.fixture(scope="session")
def vocab(bundled_path):
    from models.matcher import Vocab

    return Vocab(bundled_path)
