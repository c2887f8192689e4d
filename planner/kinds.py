"""The model planners by name, the names specs and registry entries use: `zero-shot`,
`fine-tuned` and `self-aware` (seed 000, KnowSelf). A module of its own because the
self-aware planner builds on `planner.model_planner`."""

from planner.model_planner import FineTunedPlanner, ModelPlanner, ZeroShotPlanner
from planner.self_aware import SelfAwarePlanner

PLANNERS: dict[str, type[ModelPlanner]] = {
    p.name: p for p in (ZeroShotPlanner, FineTunedPlanner, SelfAwarePlanner)
}
