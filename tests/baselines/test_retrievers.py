import hashlib
from collections.abc import Sequence

import numpy as np
import pytest

from hei_nw.baselines import (
    BM25Retriever,
    DenseRetriever,
    FaissIndex,
    HybridRetriever,
    make_retriever,
)
from hei_nw.memory.embedders import HFEmbedder


class ToyEmbedder:
    """Bag of hashed words: enough to find the episode sharing the cue's rare words."""

    name = "toy"
    dim = 256

    def _vec(self, text: str) -> np.ndarray:
        v = np.zeros(self.dim, dtype=np.float32)
        for word in text.lower().replace("?", " ").replace(".", " ").split():
            v[int(hashlib.md5(word.encode()).hexdigest(), 16) % self.dim] += 1.0
        return v / max(1e-6, float(np.linalg.norm(v)))

    def embed_queries(self, texts: Sequence[str]) -> np.ndarray:
        return np.stack([self._vec(t) for t in texts])

    def embed_passages(self, texts: Sequence[str]) -> np.ndarray:
        return self.embed_queries(texts)


def test_index_and_query_toyembedder() -> None:
    emb = ToyEmbedder()
    docs = ["server stargazer runs postgres", "alice left an umbrella", "the capital is lyon"]
    index = FaissIndex(emb.dim)
    index.add(["s", "a", "c"], emb.embed_passages(docs))
    hits = index.search(
        emb.embed_queries(["which port on stargazer postgres", "umbrella alice"]), k=2
    )
    assert [h[0][0] for h in hits] == ["s", "a"]
    assert len(hits[0]) == 2 and hits[0][0][1] >= hits[0][1][1]
    with pytest.raises(ValueError, match="dim"):
        index.add(["x"], np.zeros((1, 3), dtype=np.float32))


DOCS = {
    "s": "Server stargazer runs Postgres on port 5433.",
    "a": "Alice left an umbrella at the Harbor Library.",
    "c": "The capital of Ruritania is Strelsau.",
    "z": "Zed keeps a kayak at Pier 4 in summer.",
}


def test_bm25_ranks_the_passage_sharing_rare_words() -> None:
    ret = BM25Retriever()
    ret.index_passages(list(DOCS), list(DOCS.values()))
    hits = ret.search(["Which port does Postgres use on stargazer?", "umbrella Alice library"], k=2)
    assert [h[0][0] for h in hits] == ["s", "a"]
    assert hits[0][0][1] > hits[0][1][1]
    assert ret.search(["qqq zzz"], k=1)[0][0][1] == 0.0  # no shared word: zero score


def test_hybrid_fuses_ranks_of_both() -> None:
    dense = DenseRetriever(ToyEmbedder())
    ret = HybridRetriever(dense, BM25Retriever())
    ret.index_passages(list(DOCS), list(DOCS.values()))
    (hits,) = ret.search(["Postgres stargazer port"], k=4)
    assert hits[0][0] == "s"
    # RRF: first in both lists scores 2/(60+1); every score is a sum of 1/(60+rank).
    assert hits[0][1] == pytest.approx(2 / 61)
    assert all(h[1] <= 2 / 61 for h in hits)


def test_registry_builds_every_baseline() -> None:
    for name in ("minilm", "bm25", "hybrid"):
        assert make_retriever(name, ToyEmbedder()).name == name
    with pytest.raises(ValueError, match="unknown retriever"):
        make_retriever("tf-idf", ToyEmbedder())


@pytest.mark.slow
def test_bundled_minilm_embedder() -> None:
    emb = HFEmbedder()  # bundled all-MiniLM-L6-v2
    vecs = emb.embed_passages(["Alice left a backpack at Café Lumen.", "Server x runs Redis."])
    q = emb.embed_queries(["Who left the backpack at Café Lumen?"])
    assert vecs.shape == (2, 384)
    np.testing.assert_allclose(np.linalg.norm(vecs, axis=1), 1.0, rtol=1e-5)
    assert (q @ vecs.T)[0, 0] > (q @ vecs.T)[0, 1]
