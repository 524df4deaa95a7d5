"""Dense retrieval baseline: MiniLM (or any :class:`Embedder`) cosine over faiss, exact."""

from __future__ import annotations

from collections.abc import Sequence

import faiss
import numpy as np

from hei_nw.memory.embedders import Embedder


class FaissIndex:
    """Exact inner-product index over normalised vectors (cosine), with string ids."""

    def __init__(self, dim: int) -> None:
        self.index = faiss.IndexFlatIP(dim)
        self.ids: list[str] = []

    def add(self, ids: Sequence[str], vectors: np.ndarray) -> None:
        if vectors.shape[1] != self.index.d:
            raise ValueError(f"vector dim {vectors.shape[1]} != index dim {self.index.d}")
        self.index.add(np.ascontiguousarray(vectors, dtype=np.float32))
        self.ids.extend(ids)

    def search(self, queries: np.ndarray, k: int) -> list[list[tuple[str, float]]]:
        k = min(k, len(self.ids))
        if k == 0:
            return [[] for _ in range(len(queries))]
        scores, idx = self.index.search(np.ascontiguousarray(queries, dtype=np.float32), k)
        return [
            [(self.ids[j], float(s)) for j, s in zip(row_i, row_s, strict=True) if j >= 0]
            for row_i, row_s in zip(idx, scores, strict=True)
        ]

    def __len__(self) -> int:
        return len(self.ids)


class DenseRetriever:
    """Embed passages once; rank them for each query by cosine (exact inner product)."""

    name = "minilm"

    def __init__(self, embedder: Embedder) -> None:
        self.embedder = embedder
        self.index: FaissIndex | None = None

    def index_passages(
        self, ids: Sequence[str], texts: Sequence[str], vectors: np.ndarray | None = None
    ) -> None:
        vecs = vectors if vectors is not None else self.embedder.embed_passages(list(texts))
        self.index = FaissIndex(vecs.shape[1])
        self.index.add(ids, vecs)

    def search(self, queries: Sequence[str], k: int) -> list[list[tuple[str, float]]]:
        if self.index is None:
            raise RuntimeError("index_passages() first")
        return self.index.search(self.embedder.embed_queries(list(queries)), k)
