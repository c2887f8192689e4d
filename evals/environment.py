"""Where the planners act and who rates them, decided by the request set and the judge.

- atlas requests: the atlas tools over the requests' world, rated by the programmatic atlas
  judge (`--judge atlas`) or by a model (`--judge MODEL`);
- any other requests: the simulated tools, played by a model (`--simulator`, by default the
  judge's model), and a model judge, the way the reference evaluated its planners.
"""

from collections.abc import Sequence
from dataclasses import dataclass
from functools import cache

from evals.errors import EvalError
from evals.request_sets import RequestSet, WorldKind
from models.chat_model import ChatModel
from planner.judge import Judge
from tools.atlas.tools import AtlasSearch, atlas_tools
from tools.atlas.world import build_world
from tools.base import Tool

ATLAS_JUDGE = "atlas"


class Models:
    """Each named model loaded once per evaluation, shared by planners, judge and tools."""

    def __init__(self) -> None:
        self._loaded: dict[str, ChatModel] = {}

    def get(self, name: str) -> ChatModel:
        if name not in self._loaded:
            from models.llamacpp import LlamaCppChatModel
            from models.registry import load_chat_model

            model = load_chat_model(name)
            if isinstance(model, LlamaCppChatModel):
                model.load()  # a broken file fails now, not as one failed run per request
            self._loaded[name] = model
        return self._loaded[name]


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
) -> Environment:
    """`warm`: load what the tools load on first use now, so that the first run of the first
    planner is not charged for it (its seconds per request would be off)."""
    if request_set.world == "atlas":
        tools = _atlas_tools(request_set.atlas_seed())
        if warm:
            for tool in tools:
                if isinstance(tool, AtlasSearch):
                    tool.index.vectors()  # loads the embedding model, embeds the articles
        return Environment("atlas", tools, _judge(judge, models))
    if judge == ATLAS_JUDGE:
        raise EvalError(
            f"the atlas judge rates only atlas requests; rate {request_set.spec} with --judge MODEL"
        )
    from tools.simulated import simulated_tools

    tools = simulated_tools(models.get(simulator or judge), seed=seed)
    return Environment("llm", tools, _judge(judge, models))


@cache
def _atlas_tools(world_seed: int) -> tuple[Tool, ...]:
    """One tool set per world and process: the tools keep no state between runs, and their
    article embeddings take a while to compute."""
    return tuple(atlas_tools(build_world(world_seed)))


def _judge(name: str, models: Models) -> Judge:
    if name == ATLAS_JUDGE:
        from tools.atlas.judge import AtlasJudge

        return AtlasJudge()
    from planner.judge import LLMJudge

    return LLMJudge(models.get(name))
