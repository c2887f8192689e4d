"""The defaults of the agent commands (`chat`, `ask`, `mcp serve`), in one place.

Each setting comes from, first to last: a command-line flag, an environment variable
`WAYPOINT_<NAME>` (e.g. WAYPOINT_MODEL, WAYPOINT_SEARXNG_URL; lists as JSON), the config
file, then the default below. The config file is TOML with these names as top-level keys,
at $WAYPOINT_CONFIG or else $WAYPOINT_HOME/config.toml:

    model = "waypoint-135m"
    max_steps = 8
    tools = ["search_wikipedia", "calculate", "final_answer"]
    searxng_url = "http://127.0.0.1:8888"
    threads = 4
    gpu_layers = -1
    mcp_servers = ["uvx mcp-server-time"]

The defaults work offline: the shipped planner on the bundled model, every tool that can
work here. Change a default model or planner here (`ChatSettings`), nowhere else.
"""

import os
import tomllib
from pathlib import Path
from typing import Any, Literal

from pydantic import Field, ValidationError
from pydantic_settings import (
    BaseSettings,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
    TomlConfigSettingsSource,
)

from models.bundled import SHIPPED_PLANNER
from schemas.errors import WaypointError, validation_problem

CONFIG_FILE = "config.toml"


class ConfigError(WaypointError):
    """The config file, an environment variable or a flag holds a value that does not fit."""


class ChatSettings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="WAYPOINT_", extra="forbid")

    model: str = Field(SHIPPED_PLANNER, description="a registry name or a .gguf file")
    planner: Literal["zero-shot", "fine-tuned"] | None = Field(
        None, description="the planner's prompt; None: the one the model was trained for"
    )
    tools: list[str] | None = Field(None, description="tool names; None: every available tool")
    max_steps: int = Field(10, ge=1, description="steps before a request ends incomplete")
    index: Path | None = Field(None, description="index folder for search_wikipedia")
    searxng_url: str | None = Field(None, description="SearXNG instance for search_internet")
    fetch_private: bool = Field(
        False,
        description="let search_internet read pages on loopback and private networks (it reads "
        "only public addresses otherwise, redirects included)",
    )
    threads: int | None = Field(
        None,
        ge=1,
        description="llama.cpp threads for an in-process model; None: one per physical core",
    )
    gpu_layers: int | None = Field(
        None,
        ge=-1,
        description="layers of an in-process model offloaded to the GPU (-1: all, 0: none); "
        "None: all when llama.cpp was built with a GPU backend (CUDA, Metal, ...), else none",
    )
    mcp_servers: list[str] = Field(
        default_factory=list,
        description='MCP servers whose tools join the agent\'s: "COMMAND ARGS" (stdio) or an '
        "http(s) URL (streamable HTTP), as --mcp takes them",
    )

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        return init_settings, env_settings, TomlConfigSettingsSource(settings_cls, config_path())

    def model_options(self, remote: bool) -> dict[str, Any]:
        """What an in-process model takes of these settings (a server has its own)."""
        if remote:
            return {}
        options: dict[str, Any] = {"gpu_layers": self.gpu_layers}  # `load_chat_model`'s
        return options | ({"n_threads": self.threads} if self.threads else {})


def config_path() -> Path:
    if explicit := os.environ.get("WAYPOINT_CONFIG"):
        return Path(explicit).expanduser()
    from models.registry import waypoint_home

    return waypoint_home() / CONFIG_FILE


def load_chat_settings(**flags: Any) -> ChatSettings:
    """The settings with the flags a user gave on top (a flag left at None is not given)."""
    given = {name: value for name, value in flags.items() if value is not None}
    path = config_path()
    if "WAYPOINT_CONFIG" in os.environ and not path.is_file():
        raise ConfigError(f"WAYPOINT_CONFIG names {path}, which is not a file")
    try:
        return ChatSettings(**given)
    except tomllib.TOMLDecodeError as e:
        raise ConfigError(f"{path} is not valid TOML: {e}") from e
    except OSError as e:
        raise ConfigError(f"cannot read {path}: {e.strerror}") from e
    except ValidationError as e:
        where = f"{path} or the WAYPOINT_* environment"
        raise ConfigError(f"chat settings ({where}): {validation_problem(e)}") from e
