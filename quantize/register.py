"""Exported and quantized files enter the model registry by name, so `waypoint chat
--planner NAME` and the evals find them; the entry keeps where the file came from."""

import re
from pathlib import Path
from typing import Any

from models.registry import register_model

_NOT_IN_NAMES = re.compile(r"[^A-Za-z0-9._-]+")


def default_name(path: Path) -> str:
    """planner.Q4_K_M.gguf → planner.q4_k_m (registry names are letters, digits, . _ -)."""
    return _NOT_IN_NAMES.sub("-", path.stem).strip("-._").lower() or "model"


def register(path: Path, name: str | None = None, **provenance: Any) -> str:
    """Register `path` under `name` (default: from the file name); returns the name."""
    chosen = name or default_name(path)
    register_model(chosen, path, **{k: v for k, v in provenance.items() if v is not None})
    return chosen
