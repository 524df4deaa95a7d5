"""Lexical retrieval baseline: BM25 (Lucene variant) from the maintained ``bm25s`` library."""

from __future__ import annotations

from collections.abc import Sequence

import bm25s
import numpy as np


class BM25Retriever:
    """BM25 over passages, English stop words removed, scored per query."""

    name = "bm25"

    def __init__(self, k1: float = 1.5, b: float = 0.75) -> None:
        self.k1, self.b = k1, b
        self.model: bm25s.BM25 | None = None
        self.ids: list[str] = []

    def index_passages(
        self, ids: Sequence[str], texts: Sequence[str], vectors: np.ndarray | None = None
    ) -> None:
        del vectors  # lexical: nothing precomputed to reuse
        self.ids = list(ids)
        if not self.ids:  # an empty corpus: every search returns nothing
            self.model = bm25s.BM25(k1=self.k1, b=self.b)
            return
        tokens = bm25s.tokenize(list(texts), stopwords="en", show_progress=False)
        self.model = bm25s.BM25(k1=self.k1, b=self.b)
        self.model.index(tokens, show_progress=False)

    def search(self, queries: Sequence[str], k: int) -> list[list[tuple[str, float]]]:
        if self.model is None:
            raise RuntimeError("index_passages() first")
        k = min(k, len(self.ids))
        if k == 0 or not queries:
            return [[] for _ in queries]
        tokens = bm25s.tokenize(
            list(queries), stopwords="en", show_progress=False, return_ids=False
        )
        docs, scores = self.model.retrieve(tokens, k=k, show_progress=False, n_threads=1)
        return [
            [(self.ids[int(j)], float(s)) for j, s in zip(row_d, row_s, strict=True)]
            for row_d, row_s in zip(docs, scores, strict=True)
        ]


__all__ = ["BM25Retriever"]
