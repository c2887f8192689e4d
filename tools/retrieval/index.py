"""A passage index with quantized embeddings.

Search runs on binary codes (one bit per dimension, 32× smaller than float32) in a usearch
index compared by Hamming distance; the float query then rescores the candidates against
int8 codes kept on disk (4× smaller), which recovers most of the accuracy of float search
at a fraction of the memory. An index is a folder: manifest.json, passages.jsonl,
binary.usearch, int8.npy. It is written to a temporary folder and renamed into place, so
an interrupted build never leaves half an index behind.
"""

import hashlib
import json
import shutil
import tempfile
from collections.abc import Callable, Sequence
from functools import cache
from pathlib import Path
from typing import Protocol

import numpy as np
from pydantic import BaseModel, ValidationError

from schemas.errors import WaypointError
from tools.retrieval.corpus import Passage
from tools.retrieval.embedder import Embedder

FORMAT_VERSION = 1
EXACT_BELOW = 100_000  # passages: below this a brute-force scan of binary codes is cheap
_MANIFEST, _PASSAGES = "manifest.json", "passages.jsonl"
_BINARY, _INT8 = "binary.usearch", "int8.npy"


class RetrievalIndexError(WaypointError):
    """An index folder is missing, incomplete, or was built with another embedder."""


class IndexManifest(BaseModel):
    version: int = FORMAT_VERSION
    embedder: str
    dimensions: int
    passages: int


class Hit(BaseModel):
    passage: Passage
    score: float  # cosine similarity after rescoring, else 1 − normalised Hamming distance


class Retriever(Protocol):
    """What a search tool searches: an index on disk, or a simulated world's articles."""

    def search(self, query: str, k: int = 3) -> list[Hit]: ...


@cache
def _usearch_index() -> type:
    """usearch's `Index`, imported once llama.cpp is safe from it.

    The usearch wheel carries its own copy of libstdc++ and exports its symbols. Imported
    before llama.cpp has read any vocabulary, it leaves the process in a state where every
    later GGUF load fails with std::bad_cast in the tokenizer setup; once llama.cpp has
    read one vocabulary, the two coexist. Reading the bundled model's vocabulary (no
    weights, tens of milliseconds) settles that first.
    """
    from models.bundled import bundled_model_path
    from models.matcher import Vocab

    Vocab(bundled_model_path())
    from usearch.index import Index

    return Index


def quantize_int8(vectors: np.ndarray) -> np.ndarray:
    """Unit vectors have components in [-1, 1]: a fixed scale needs no calibration."""
    return np.clip(np.rint(vectors * 127), -127, 127).astype(np.int8)


def quantize_binary(vectors: np.ndarray) -> np.ndarray:
    return np.packbits(vectors > 0, axis=-1)


def is_index(folder: Path) -> bool:
    return (folder / _MANIFEST).is_file()


def build_index(
    passages: Sequence[Passage],
    out: Path,
    embedder: Embedder,
    progress: Callable[[int], None] | None = None,
) -> IndexManifest:
    """Embed `passages` and write the index folder `out` (replacing an index already there)."""
    if out.exists() and not is_index(out) and any(out.iterdir()):
        raise RetrievalIndexError(
            f"{out} exists and is not an index: choose an empty or new folder"
        )
    if not passages:
        raise RetrievalIndexError("the corpus has no passages to index")
    vectors = embedder.encode([p.embedding_text() for p in passages], progress)
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(dir=out.parent, prefix=f".{out.name}-"))
    try:
        binary = _usearch_index()(ndim=embedder.dimensions, metric="hamming", dtype="b1")
        binary.add(np.arange(len(passages)), quantize_binary(vectors))
        binary.save(str(tmp / _BINARY))
        np.save(tmp / _INT8, quantize_int8(vectors))
        with (tmp / _PASSAGES).open("w", encoding="utf-8") as f:
            f.writelines(p.model_dump_json() + "\n" for p in passages)
        manifest = IndexManifest(
            embedder=embedder.name, dimensions=embedder.dimensions, passages=len(passages)
        )
        (tmp / _MANIFEST).write_text(manifest.model_dump_json(indent=2))
        _swap_in(tmp, out)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return manifest


def _swap_in(new: Path, out: Path) -> None:
    old = out.with_name(f".{out.name}-old") if out.exists() else None
    if old:
        shutil.rmtree(old, ignore_errors=True)
        out.rename(old)
    new.rename(out)
    if old:
        shutil.rmtree(old, ignore_errors=True)


def cached_index(corpus: Path, cache_root: Path, embedder: Embedder) -> Path:
    """The index of `corpus` under `cache_root`, built on first use; a changed corpus file
    gets a new folder (the name carries a hash of its bytes)."""
    from tools.retrieval.corpus import SPLIT_VERSION, read_articles, split_passages

    key = corpus.read_bytes() + f"{embedder.name}:{SPLIT_VERSION}".encode()
    digest = hashlib.sha256(key).hexdigest()[:12]
    folder = cache_root / f"{corpus.stem}-{digest}"
    if not is_index(folder):
        build_index(list(split_passages(read_articles(corpus))), folder, embedder)
    return folder


class PassageIndex:
    def __init__(self, folder: Path, embedder: Embedder) -> None:
        self.folder = folder
        self.embedder = embedder
        self.manifest = read_manifest(folder)
        if self.manifest.embedder != embedder.name:
            raise RetrievalIndexError(
                f"{folder} was built with {self.manifest.embedder}, not {embedder.name}"
            )
        try:
            with (folder / _PASSAGES).open(encoding="utf-8") as f:
                self.passages = [Passage.model_validate_json(line) for line in f]
            self.binary = _usearch_index().restore(str(folder / _BINARY), view=True)
            self.int8 = np.load(folder / _INT8, mmap_mode="r")
        except (OSError, ValueError) as e:
            raise RetrievalIndexError(f"the index in {folder} is damaged: {e}") from e
        if not len(self.passages) == len(self.int8) == self.manifest.passages:
            raise RetrievalIndexError(f"the index in {folder} is damaged: its parts differ in size")

    def search(
        self, query: str, k: int = 3, *, rescore: bool = True, oversample: int = 4
    ) -> list[Hit]:
        """The `k` passages nearest to `query`; with `rescore`, `k × oversample` binary
        candidates are reordered by the float query against their int8 codes."""
        vector = self.embedder.encode([query])[0]
        count = min(len(self.passages), k * oversample if rescore else k)
        matches = self.binary.search(
            quantize_binary(vector), count, exact=len(self.passages) < EXACT_BELOW
        )
        keys = np.asarray(matches.keys, dtype=np.int64)
        if rescore:
            scores = self.int8[keys].astype(np.float32) @ vector / 127
        else:
            scores = 1 - np.asarray(matches.distances, dtype=np.float32) / self.manifest.dimensions
        order = np.argsort(-scores, kind="stable")[:k]
        return [Hit(passage=self.passages[keys[i]], score=float(scores[i])) for i in order]


def read_manifest(folder: Path) -> IndexManifest:
    """The manifest of the index in `folder`; a clear error when there is none."""
    if not is_index(folder):
        raise RetrievalIndexError(f"no index in {folder}: build one with `waypoint index build`")
    try:
        manifest = IndexManifest.model_validate_json((folder / _MANIFEST).read_text())
    except (OSError, ValidationError, json.JSONDecodeError) as e:
        raise RetrievalIndexError(f"the index manifest in {folder} is unreadable: {e}") from e
    if manifest.version != FORMAT_VERSION:
        raise RetrievalIndexError(
            f"{folder} has index format {manifest.version}, not {FORMAT_VERSION}"
        )
    return manifest
