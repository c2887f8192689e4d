"""Where the planners act and who rates them, decided by the request set and the judge.

- atlas requests: the atlas tools over the requests' world, rated by the programmatic atlas
  judge (`--judge atlas`) or by a model (`--judge MODEL`);
- real-tool requests: the real tools on the bundled encyclopedia, writing their e-mails and
  events under the run folder, checked programmatically (`--judge check`);
- any other requests: the simulated tools, played by a model (`--simulator`, by default the
  judge's model), and a model judge, the way the reference evaluated its planners.
"""

from collections.abc import Sequence
from dataclasses import dataclass
from functools import cache
from pathlib import Path

from evals.errors import EvalError
from evals.request_sets import RequestSet, WorldKind
from models.chat_model import ChatModel
from models.registry import DEFAULT_MODEL
from planner.judge import Judge
from tools.atlas.search import ArticleIndex
from tools.atlas.tools import atlas_tools
from tools.atlas.world import build_world
from tools.base import Tool
from tools.search_wikipedia import SearchWikipedia

ATLAS_JUDGE, CHECK_JUDGE = "atlas", "check"


class Models:
    """Each named model loaded once per evaluation, shared by planners, judge and tools;
    `gpu_layers` goes to the in-process ones (`models.registry.load_chat_model`)."""

    def __init__(self, gpu_layers: int | None = None) -> None:
        self._loaded: dict[str, ChatModel] = {}
        self.gpu_layers = gpu_layers

    def get(self, name: str) -> ChatModel:
        if name not in self._loaded:
            from models.llamacpp import LlamaCppChatModel
            from models.registry import load_chat_model

            model = load_chat_model(name, gpu_layers=self.gpu_layers)
            if isinstance(model, LlamaCppChatModel):
                model.load()  # a broken file fails now, not as one failed run per request
            model.check()  # and so does a server that is not there
            self._loaded[name] = model
        return self._loaded[name]

    def local(self) -> dict[str, ChatModel]:
        """The models loaded so far that run in this process (not behind HTTP)."""
        from models.openai_compat import OpenAIChatModel

        return {n: m for n, m in self._loaded.items() if not isinstance(m, OpenAIChatModel)}

    def require_http(self, tool_caller: str | None) -> None:
        """Several runs at once need models that serve several calls at once: a server.
        An in-process llama.cpp model runs one completion at a time."""
        local = list(self.local())
        if tool_caller is not None:
            local.append(f"the tool caller {tool_caller}")
        if local:
            raise EvalError(
                f"--workers > 1 needs every model behind HTTP; {', '.join(local)} runs in "
                "process (serve it: python -m models.llamacpp_server, vLLM, ...)"
            )


def default_judge(world: WorldKind) -> str:
    """The judge of a world whose requests can be checked by a program."""
    if world == "llm":
        raise EvalError("these requests need a judge model: name one with --judge MODEL")
    return ATLAS_JUDGE if world == "atlas" else CHECK_JUDGE


@dataclass
class Environment:
    world: WorldKind
    tools: Sequence[Tool]
    judge: Judge

    @property
    def tool_names(self) -> tuple[str, ...]:
        return tuple(t.name for t in self.tools)


def make_environment(
    request_set: RequestSet,
    judge: str,
    simulator: str | None,
    models: Models,
    *,
    seed: int = 0,
    warm: bool = True,
    home: Path | None = None,
    tool_caller: str | None = None,
) -> Environment:
    """`warm`: load what the tools load on first use now, so that the first run of the first
    planner is not charged for it (its seconds per request would be off). `home`: where real
    tools write (outbox, calendar, the index of the bundled encyclopedia). `tool_caller`: see
    `EvalSettings.tool_caller`."""
    tool_model = _tool_model(tool_caller, models)
    if request_set.world == "atlas":
        tools = _atlas_tools(request_set.atlas_seed(), tool_model)
        if warm:
            for tool in tools:
                if isinstance(tool, SearchWikipedia) and isinstance(tool.retriever, ArticleIndex):
                    tool.retriever.vectors()  # loads the embedding model, embeds the articles
        return Environment("atlas", tools, _judge(judge, models))
    if request_set.world == "real":
        tool_model = tool_model or models.get(DEFAULT_MODEL)
        return Environment("real", _real_tools(tool_model, home, warm), _judge(judge, models))
    if judge in (ATLAS_JUDGE, CHECK_JUDGE):
        raise EvalError(f"the {judge} judge does not rate {request_set.spec}; use --judge MODEL")
    from tools.simulated import simulated_tools

    tools = simulated_tools(models.get(simulator or judge), seed=seed)
    return Environment("llm", tools, _judge(judge, models))


@cache
def _atlas_tools(world_seed: int, tool_model: ChatModel | None) -> tuple[Tool, ...]:
    """One tool set per world, tool caller and process: the tools keep no state between
    runs, and their article embeddings take a while to compute."""
    return tuple(atlas_tools(build_world(world_seed), model=tool_model))


def _tool_model(spec: str | None, models: Models) -> ChatModel | None:
    """The model that writes tool calls: see `EvalSettings.tool_caller`."""
    if spec is None:
        return None
    if spec == "base":
        return models.get(DEFAULT_MODEL)
    from models.adapters import AdaptedChatModel
    from models.bundled import bundled_model_path

    adapted = AdaptedChatModel(bundled_model_path(), adapters={"tool_caller": Path(spec)})
    return adapted.with_adapter("tool_caller")


def _real_tools(model: ChatModel, home: Path | None, warm: bool) -> list[Tool]:
    """The default real tools; a tool that derives arguments does it with `model`.
    Nobody is at the terminal, so ask_user says the user cannot be asked."""
    from tools.context import ToolContext
    from tools.registry import load_tools
    from tools.search_wikipedia import LocalIndex

    if home is None:
        raise EvalError("real tools need a folder to write in")

    def no_user(question: str) -> str:
        raise EOFError

    context = ToolContext(model=model, home=home, ask=no_user)
    tools = load_tools(context)
    for tool in tools:
        if warm and isinstance(tool, SearchWikipedia) and isinstance(tool.retriever, LocalIndex):
            _ = tool.retriever.index  # embeds the encyclopedia on first use
    return tools


def _judge(name: str, models: Models) -> Judge:
    if name == ATLAS_JUDGE:
        from tools.atlas.judge import AtlasJudge

        return AtlasJudge()
    if name == CHECK_JUDGE:
        from evals.checks import CheckJudge

        return CheckJudge()
    from planner.judge import LLMJudge

    return LLMJudge(models.get(name))
