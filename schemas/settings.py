"""Settings files: a pydantic model read from TOML, with command-line overrides on top.

Every command that takes `--config FILE` reads it here, so a setting is spelled the same
way in a file and on the command line ("lora.r" reaches into the `[lora]` table).
"""

import tomllib
from pathlib import Path
from typing import Any, TypeVar

from pydantic import BaseModel, ValidationError

from schemas.errors import WaypointError, validation_problem

M = TypeVar("M", bound=BaseModel)


class SettingsError(WaypointError):
    """A settings file or override is invalid."""


def load_settings(model: type[M], path: Path | None, overrides: dict[str, Any], what: str) -> M:
    """`model` from the TOML file (if any) with `overrides` on top; `what` names the
    settings in the error ("training config")."""
    data: dict[str, Any] = {}
    if path is not None:
        try:
            data = tomllib.loads(path.read_text())
        except OSError as e:
            raise SettingsError(f"cannot read {what} {path}: {e.strerror}") from e
        except tomllib.TOMLDecodeError as e:
            raise SettingsError(f"{path} is not valid TOML: {e}") from e
    for key, value in overrides.items():
        *tables, leaf = key.split(".")
        node = data
        for table in tables:
            node = node.setdefault(table, {})
        node[leaf] = value
    try:
        return model.model_validate(data)
    except ValidationError as e:
        source = f" in {path}" if path else ""
        raise SettingsError(f"{what}{source}: {validation_problem(e, 'settings')}") from e
