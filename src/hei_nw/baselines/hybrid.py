"""Hybrid retrieval baseline: reciprocal-rank fusion (RRF) of BM25 and a dense retriever.

``score(d) = sum over retrievers of 1 / (c + rank(d))`` with ``c = 60`` (Cormack et al.,
2009), over each retriever's top ``depth`` candidates.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from hei_nw.baselines.bm25 import BM25Retriever
from hei_nw.baselines.dense import DenseRetriever


class HybridRetriever:
    name = "hybrid"

    def __init__(
        self, dense: DenseRetriever, lexical: BM25Retriever, c: float = 60.0, depth: int = 100
    ) -> None:
        self.dense, self.lexical, self.c, self.depth = dense, lexical, c, depth

    def index_passages(
        self, ids: Sequence[str], texts: Sequence[str], vectors: np.ndarray | None = None
    ) -> None:
        self.dense.index_passages(ids, texts, vectors)
        self.lexical.index_passages(ids, texts)

    def search(self, queries: Sequence[str], k: int) -> list[list[tuple[str, float]]]:
        out = []
        for dense, lexical in zip(
            self.dense.search(queries, self.depth),
            self.lexical.search(queries, self.depth),
            strict=True,
        ):
            fused: dict[str, float] = {}
            for ranked in (dense, lexical):
                for rank, (doc, _) in enumerate(ranked):
                    fused[doc] = fused.get(doc, 0.0) + 1.0 / (self.c + rank + 1)
            # Ties broken by the dense order (stable sort over the dense-first insertion).
            out.append(sorted(fused.items(), key=lambda kv: -kv[1])[:k])
        return out


__all__ = ["HybridRetriever"]
