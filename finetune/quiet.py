"""Library noise, turned down before torch, transformers and trl load.

Deprecation notices from inside the libraries, dataset-map progress bars and bitsandbytes'
note about an optional CPU inference kernel (logged while it is imported, so this must run
first) tell a user nothing they can act on; the run's own lines stay readable without them.
"""

import logging
import warnings


def quiet_libraries() -> None:
    import datasets
    import transformers

    logging.getLogger("bitsandbytes.backends.cpu.ops").setLevel(logging.ERROR)
    datasets.disable_progress_bars()
    transformers.logging.set_verbosity_error()
    transformers.logging.disable_progress_bar()  # "Loading weights" on every model load
    warnings.filterwarnings("ignore", category=FutureWarning, module=r"(transformers|trl|peft)")
