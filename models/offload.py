"""Where llama.cpp runs a model's layers: the backends of the installed build, and how many
layers go to the GPU.

`n_gpu_layers` counts layers offloaded: -1 every one, 0 none. Not given (None), it is every
layer when this llama.cpp was built with a GPU backend (CUDA, Metal, Vulkan, ...) and none
otherwise, so a GPU machine uses its GPU without a flag and a CPU build is not asked for
what it cannot do (llama.cpp would ignore it silently).
"""

import re
from functools import cache

ALL_LAYERS = -1
# backends that run on the CPU: listed by llama.cpp beside the GPU ones, never offloaded to
CPU_BACKENDS = frozenset({"CPU", "BLAS", "RPC"})
INSTALL_HINT = "README, 'GPU offload', shows how to install llama-cpp-python with CUDA"


@cache
def backends() -> tuple[str, ...]:
    """The backends this llama.cpp has loaded, e.g. ("CUDA", "CPU"), from its system info
    ("CUDA : ARCHS = 890 | ... | CPU : SSE3 = 1 | ...")."""
    import llama_cpp

    info = llama_cpp.llama_print_system_info().decode(errors="replace")
    return tuple(dict.fromkeys(re.findall(r"(?:^|\|)\s*([A-Za-z][\w-]*) : ", info)))


@cache
def supports_offload() -> bool:
    import llama_cpp

    return bool(llama_cpp.llama_supports_gpu_offload())


def gpu_backends() -> tuple[str, ...]:
    return tuple(b for b in backends() if b not in CPU_BACKENDS)


def resolve_gpu_layers(requested: int | None) -> int:
    """The n_gpu_layers llama.cpp gets: what was asked, else all with a GPU backend, else 0."""
    if requested is not None:
        if requested < ALL_LAYERS:
            raise ValueError(f"gpu layers must be -1 (all), 0 (none) or more, got {requested}")
        return requested
    return ALL_LAYERS if supports_offload() else 0


def offload_line(requested: int | None) -> str:
    """One line saying where the layers of an in-process model will run."""
    import llama_cpp

    layers = resolve_gpu_layers(requested)
    gpu = "/".join(gpu_backends()) or "GPU"
    build = f"llama.cpp {llama_cpp.__version__}"
    if not supports_offload():
        asked = f" (--gpu-layers {requested} asked for)" if layers != 0 else ""
        return f"{build}, CPU only: every layer on the CPU{asked}; {INSTALL_HINT}"
    if layers == 0:
        return f"{build}, {gpu}: every layer on the CPU (--gpu-layers 0)"
    if layers == ALL_LAYERS:
        return f"{build}, {gpu}: every layer on the GPU"
    return f"{build}, {gpu}: {layers} layers on the GPU, the rest on the CPU"


def backend_summary() -> str:
    """The installed build in a few words, for `waypoint models info`."""
    import llama_cpp

    offload = "GPU offload" if supports_offload() else "no GPU offload"
    return f"llama-cpp-python {llama_cpp.__version__}: {', '.join(backends())} ({offload})"
