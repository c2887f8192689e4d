"""`--gpu-layers`, the option of every command that runs a model in process, and the line
that says where that model's layers run (the first line a command prints, on stderr)."""

from typing import TYPE_CHECKING, Annotated

import typer
from rich.console import Console

if TYPE_CHECKING:
    from models.chat_model import ChatModel

GpuLayers = Annotated[
    int | None,
    typer.Option(
        "--gpu-layers",
        min=-1,
        help="layers of an in-process model on the GPU: -1 all, 0 none (default: the config's "
        "gpu_layers, else all when llama.cpp has a GPU backend)",
    ),
]


def gpu_layers(flag: int | None) -> int | None:
    """The GPU layers a command uses: the flag, else waypoint.config's (None: automatic)."""
    from waypoint.config import load_chat_settings

    return flag if flag is not None else load_chat_settings().gpu_layers


def announce(layers: int | None) -> None:
    """Say where the layers of in-process models will run."""
    from models.offload import offload_line

    Console(stderr=True, highlight=False, soft_wrap=True).print(offload_line(layers), style="dim")


def announce_model(model: "ChatModel") -> None:
    """`announce` for a loaded model, if it runs in process (a server offloads by itself)."""
    from models.llamacpp import LlamaCppChatModel

    if isinstance(model, LlamaCppChatModel):
        announce(model.n_gpu_layers)
