"""Named models: the packaged registry (`registry.toml`) plus the user's, and how a name
becomes a ChatModel.

Resolution of `load_chat_model(x)`: a local GGUF path → a registry name, whose file is
bundled, a local path, or in the Hugging Face cache. Nothing is downloaded here: only
`pull` (the `waypoint models pull NAME` command) downloads, and never with HF_HUB_OFFLINE.
"""

import os
import re
import tomllib
from importlib import resources
from pathlib import Path
from typing import Annotated, Any, Literal

import tomli_w
from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    TypeAdapter,
    ValidationError,
    ValidationInfo,
    field_validator,
    model_validator,
)

from models.bundled import BUNDLED_NAME, bundled_model_path
from models.chat_model import ChatModel, ModelError
from models.structured import GrammarMode
from schemas.errors import validation_problem

DEFAULT_MODEL = BUNDLED_NAME
# Which prompt a model was trained for: any instruct model plans zero-shot; a planner made
# by `waypoint pipeline` expects the fine-tuned prompt (planner.prompts).
PlannerPrompt = Literal["zero-shot", "fine-tuned"]
USER_FILE = "models.toml"
_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]*")


class LlamaCppEntry(BaseModel):
    """A GGUF run in process. Extra keys (base model, quantization, dataset, …) are kept as
    provenance."""

    model_config = ConfigDict(extra="allow")

    backend: Literal["llamacpp"]
    description: str = ""
    bundled: bool = False
    path: Path | None = None
    repo: str | None = None
    file: str | None = None
    revision: str | None = None
    lora: Path | None = Field(None, description="a GGUF LoRA adapter llama.cpp applies at load")
    planner: PlannerPrompt = "zero-shot"
    examples: Path | None = Field(
        None, description="worked examples (JSONL) the fine-tuned planner was trained with"
    )
    n_ctx: int = Field(4096, ge=256)
    n_gpu_layers: int | None = Field(
        None, ge=-1, description="layers on the GPU (-1 all); None: all with a GPU build"
    )
    decoder: str | None = None  # a name in models.decoding.DECODERS; None: the default
    flash_attn: bool | None = None

    @field_validator("path", "lora", "examples")
    @classmethod
    def _beside_the_registry(cls, value: Path | None, info: ValidationInfo) -> Path | None:
        """A relative path is relative to the registry file that names it (the shipped
        planner's adapter sits in this package)."""
        root = (info.context or {}).get("root")
        if value is None or root is None or value.expanduser().is_absolute():
            return value
        return Path(root) / value

    @model_validator(mode="after")
    def _one_source(self) -> "LlamaCppEntry":
        sources = [self.bundled, self.path is not None, self.repo is not None]
        if sum(sources) != 1 or (self.repo is None) != (self.file is None):
            raise ValueError("give exactly one of: bundled = true, path, or repo + file")
        return self


class OpenAIEntry(BaseModel):
    model_config = ConfigDict(extra="forbid")

    backend: Literal["openai"]
    description: str = ""
    base_url: str
    model: str
    api_key_env: str = "OPENAI_API_KEY"
    grammar_mode: GrammarMode = "json_schema"
    planner: PlannerPrompt = "zero-shot"


Entry = Annotated[LlamaCppEntry | OpenAIEntry, Field(discriminator="backend")]
_Registry = TypeAdapter(dict[str, Entry])


# -- the registry files -----------------------------------------------------------------


def waypoint_home() -> Path:
    return Path(os.environ.get("WAYPOINT_HOME") or "~/.local/share/waypoint").expanduser()


def user_registry_path() -> Path:
    return waypoint_home() / USER_FILE


def registry() -> dict[str, Entry]:
    """Every named model: the packaged ones, then the user's (which win on a shared name)."""
    packaged = Path(str(resources.files("models") / "registry.toml"))
    entries = _parse(packaged)
    user = user_registry_path()
    if user.is_file():
        entries |= _parse(user)
    return entries


def _parse(source: Path) -> dict[str, Entry]:
    try:
        data = tomllib.loads(source.read_text())
        return _Registry.validate_python(data, context={"root": source.parent})
    except tomllib.TOMLDecodeError as e:
        raise ModelError(f"{source} is not valid TOML: {e}") from e
    except ValidationError as e:
        # loc is (name, backend tag, field…): the tag is noise to a reader of the file.
        problem = validation_problem(e, "registry", skip=(1,))
        raise ModelError(f"bad model entry in {source} at {problem}") from e


def register_model(name: str, path: Path | str, **meta: Any) -> LlamaCppEntry:
    """Add (or replace) a local GGUF in the user registry, e.g. an exported fine-tune.
    `meta` holds n_ctx, description and any provenance (scalars)."""
    if not _NAME.fullmatch(name):
        raise ModelError(f"model name {name!r} must be letters, digits, '.', '_' or '-'")
    file = Path(path).expanduser().absolute()
    if not file.is_file():
        raise ModelError(f"cannot register {name}: no such file {file}")
    try:
        entry = LlamaCppEntry(backend="llamacpp", path=file, **meta)
    except ValidationError as e:
        raise ModelError(f"cannot register {name}: {validation_problem(e)}") from e
    target = user_registry_path()
    tables = tomllib.loads(target.read_text()) if target.is_file() else {}
    tables[name] = entry.model_dump(mode="json", exclude_defaults=True, exclude_none=True)
    target.parent.mkdir(parents=True, exist_ok=True)
    partial = target.with_suffix(".toml.partial")
    partial.write_text(tomli_w.dumps(tables))
    partial.replace(target)  # atomic: a reader never sees half a file
    return entry


def entry_for(name: str) -> Entry:
    entries = registry()
    if name not in entries:
        raise ModelError(
            f"unknown model {name!r}: `waypoint models list` shows the names; "
            "a .gguf path works too"
        )
    return entries[name]


# -- from a name to a file and a ChatModel ----------------------------------------------


def load_chat_model(
    name_or_path: str | Path = DEFAULT_MODEL, *, gpu_layers: int | None = None, **overrides: Any
) -> ChatModel:
    """The model a user named: a GGUF path or a registry name. `overrides` go to the
    backend's constructor (n_ctx, n_threads, n_gpu_layers, decoder, timeout, …).
    `gpu_layers` (a command's --gpu-layers) is for an in-process model only, a server
    offloads by its own flags: it wins over the entry's `n_gpu_layers`, and with neither,
    every layer goes to the GPU when llama.cpp has a GPU backend (`models.offload`)."""
    # each backend is imported only once the name is known to be its (a typo fails fast)
    path = _local_path(name_or_path)
    name = str(name_or_path)
    entry = None if path is not None else entry_for(name)
    if isinstance(entry, OpenAIEntry):
        from models.openai_compat import OpenAIChatModel

        settings = entry.model_dump(exclude={"backend", "description", "planner"})
        return OpenAIChatModel(**({"name": name} | settings | overrides))
    from models.llamacpp import LlamaCppChatModel
    from models.offload import resolve_gpu_layers

    asked = gpu_layers if gpu_layers is not None else entry.n_gpu_layers if entry else None
    offload = {"n_gpu_layers": resolve_gpu_layers(asked)}
    if entry is None:
        return LlamaCppChatModel(path, **(offload | overrides))
    runtime = entry.model_dump(
        include={"n_ctx", "decoder", "flash_attn", "lora"}, exclude_none=True
    )
    settings = {"name": name} | runtime | offload | overrides
    return LlamaCppChatModel(local_file(name, entry), **settings)


def planner_prompt(name_or_path: str | Path) -> PlannerPrompt:
    """The prompt a model expects: its entry's `planner`; zero-shot for a bare file."""
    if _local_path(name_or_path) is not None:
        return "zero-shot"
    return entry_for(str(name_or_path)).planner


def worked_examples(name_or_path: str | Path) -> Path | None:
    """The worked examples a model's entry names (`planner.examples`); none for a bare file."""
    if _local_path(name_or_path) is not None:
        return None
    entry = entry_for(str(name_or_path))
    return entry.examples if isinstance(entry, LlamaCppEntry) else None


def _local_path(name_or_path: str | Path) -> Path | None:
    """A path when the argument is one; an error when it looks like one but is missing."""
    text = str(name_or_path)
    path = Path(text).expanduser()
    if isinstance(name_or_path, Path) or text.endswith(".gguf") or os.sep in text:
        if not path.is_file():
            raise ModelError(f"no such model file: {path}")
        return path
    return path if path.is_file() else None


def local_file(name: str, entry: LlamaCppEntry) -> Path:
    """The GGUF of an entry on this machine, without touching the network."""
    if entry.bundled:
        return bundled_model_path()
    if entry.path is not None:
        if not entry.path.expanduser().is_file():
            raise ModelError(
                f"model {name}: its file {entry.path} is missing; re-create it or remove "
                f"the entry from {user_registry_path()}"
            )
        return entry.path.expanduser()
    cached = _hub_cached(entry)
    if cached is None:
        raise ModelError(
            f"model {name} ({entry.repo}/{entry.file}) is not downloaded: "
            f"run `waypoint models pull {name}`"
        )
    return cached


def _hub_cached(entry: LlamaCppEntry) -> Path | None:
    from huggingface_hub import try_to_load_from_cache

    assert entry.repo is not None and entry.file is not None
    found = try_to_load_from_cache(entry.repo, entry.file, revision=entry.revision)
    return Path(found) if isinstance(found, str) else None


def status(name: str, entry: Entry) -> str:
    """Where a model stands on this machine, in a word or two."""
    if isinstance(entry, OpenAIEntry):
        return "remote"
    if entry.bundled:
        return "bundled"
    if entry.path is not None:
        return "local" if entry.path.expanduser().is_file() else "missing"
    return "downloaded" if _hub_cached(entry) is not None else "not downloaded"


def pull(name: str) -> Path:
    """Download a registry model from the Hugging Face Hub (once; later calls find it cached)."""
    entry = entry_for(name)
    if isinstance(entry, OpenAIEntry):
        raise ModelError(f"{name} is served by {entry.base_url}: there is nothing to download")
    if entry.repo is None:
        return local_file(name, entry)
    cached = _hub_cached(entry)
    if cached is not None:
        return cached
    if _offline():
        raise ModelError(
            f"cannot download {name} ({entry.repo}/{entry.file}): HF_HUB_OFFLINE is set; "
            "unset it to download"
        )
    return _download(name, entry)


def _offline() -> bool:
    from huggingface_hub import constants

    flag = os.environ.get("HF_HUB_OFFLINE", "")
    return constants.HF_HUB_OFFLINE or flag.upper() in {"1", "ON", "YES", "TRUE"}


def _download(name: str, entry: LlamaCppEntry) -> Path:
    from huggingface_hub import hf_hub_download
    from huggingface_hub.errors import HfHubHTTPError, LocalEntryNotFoundError

    assert entry.repo is not None and entry.file is not None
    try:
        return Path(hf_hub_download(entry.repo, entry.file, revision=entry.revision))
    except (HfHubHTTPError, LocalEntryNotFoundError, OSError) as e:
        reason = " ".join(str(e).split())[:200]
        raise ModelError(f"downloading {name} ({entry.repo}/{entry.file}) failed: {reason}") from e
