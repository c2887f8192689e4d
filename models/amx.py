"""Keep llama.cpp off its AMX kernels where the CPU advertises AMX but cannot run them.

Measured on this project's machines (a VM whose CPU flags list amx_tile): llama.cpp puts
quantized weights into its AMX buffer type and the first matrix multiply dies with
SIGSEGV on `ldtilecfg`. llama-cpp-python has no switch for it, so the default model
parameters are wrapped to turn off the extra buffer types (AMX and weight repacking).
On a CPU without AMX nothing changes; on real AMX hardware it costs prompt speed only.
"""

from functools import cache
from pathlib import Path

import llama_cpp.llama_cpp as llama_lib

_CPUINFO = Path("/proc/cpuinfo")


def cpu_advertises_amx() -> bool:
    try:
        return " amx_tile" in _CPUINFO.read_text()
    except OSError:  # not Linux: llama.cpp only uses AMX on Linux
        return False


@cache
def avoid_amx() -> None:
    """Idempotent; affects every llama.cpp model loaded in this process afterwards."""
    if not cpu_advertises_amx():
        return
    default_params = llama_lib.llama_model_default_params

    def params_without_extra_buffers() -> llama_lib.llama_model_params:
        params = default_params()
        params.use_extra_bufts = False
        return params

    llama_lib.llama_model_default_params = params_without_extra_buffers
