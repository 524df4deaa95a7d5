import hashlib
from collections.abc import Sequence

import numpy as np
import pytest

from hei_nw.baselines.rag import FaissIndex, HFEmbedder, run_rag
from hei_nw.datasets.scenario_c import generate
from hei_nw.eval.qa import GenConfig
from hei_nw.models.base import GenerationPipeline


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


def test_run_rag_reports_recall(tiny_pipe: GenerationPipeline) -> None:
    records = generate(n=6, seed=0)
    rows = run_rag(tiny_pipe, records, GenConfig(max_new_tokens=3), embedder=ToyEmbedder(), k=3)
    assert len(rows) == 6
    assert all(r["retrieved_ids"] and len(r["retrieved_ids"]) == 3 for r in rows)
    assert all(r["recall_at_k"] in (0.0, 1.0) for r in rows)
    assert sum(r["recall_at_k"] or 0.0 for r in rows) >= 4  # toy bag-of-words finds most hosts


@pytest.mark.slow
def test_bundled_minilm_embedder() -> None:
    emb = HFEmbedder()  # bundled all-MiniLM-L6-v2
    vecs = emb.embed_passages(["Alice left a backpack at Café Lumen.", "Server x runs Redis."])
    q = emb.embed_queries(["Who left the backpack at Café Lumen?"])
    assert vecs.shape == (2, 384)
    np.testing.assert_allclose(np.linalg.norm(vecs, axis=1), 1.0, rtol=1e-5)
    assert (q @ vecs.T)[0, 0] > (q @ vecs.T)[0, 1]
