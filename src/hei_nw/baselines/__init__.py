"""Retrieval baselines HEI-NW is compared against, on the same stored items and cues.

* ``minilm`` -- dense cosine over MiniLM sentence vectors (faiss, exact),
* ``bm25`` -- lexical BM25 (``bm25s``),
* ``hybrid`` -- reciprocal-rank fusion of the two.

Every retriever has ``index_passages(ids, texts, vectors=None)`` and
``search(queries, k) -> [[(id, score), ...], ...]``. :func:`make_retriever` builds one by
name from the :data:`RETRIEVERS` registry.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Protocol

import numpy as np

from hei_nw.baselines.bm25 import BM25Retriever
from hei_nw.baselines.dense import DenseRetriever, FaissIndex
from hei_nw.baselines.hybrid import HybridRetriever
from hei_nw.memory.embedders import Embedder, shared_embedder


class Retriever(Protocol):
    name: str

    def index_passages(
        self, ids: Sequence[str], texts: Sequence[str], vectors: np.ndarray | None = None
    ) -> None: ...

    def search(self, queries: Sequence[str], k: int) -> list[list[tuple[str, float]]]: ...


RETRIEVERS: dict[str, Callable[[Embedder], Retriever]] = {
    "minilm": DenseRetriever,
    "bm25": lambda _emb: BM25Retriever(),
    "hybrid": lambda emb: HybridRetriever(DenseRetriever(emb), BM25Retriever()),
}


def make_retriever(name: str, embedder: Embedder | None = None) -> Retriever:
    try:
        factory = RETRIEVERS[name]
    except KeyError:
        raise ValueError(f"unknown retriever {name!r}; choose {', '.join(RETRIEVERS)}") from None
    return factory(embedder or shared_embedder())


__all__ = [
    "RETRIEVERS",
    "BM25Retriever",
    "DenseRetriever",
    "FaissIndex",
    "HybridRetriever",
    "Retriever",
    "make_retriever",
]
