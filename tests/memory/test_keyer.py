from collections.abc import Sequence

import numpy as np
import pytest

from hei_nw.datasets import query_items
from hei_nw.datasets.scenario_a import generate
from hei_nw.memory.config import KeyerConfig
from hei_nw.memory.keyer import DGKeyer, SparseKeys, content_words


def test_keys_are_k_sparse_and_l1_normalised() -> None:
    keyer = DGKeyer(KeyerConfig(d=2048, k=64))
    keys = keyer.keys(["Alice left a backpack at Café Lumen on Monday morning.", "Hi."])
    assert keys.indices.shape == (2, 64) and keys.d == 2048
    np.testing.assert_allclose(np.abs(keys.values).sum(axis=1), 1.0, rtol=1e-5)
    dense = keys.dense()
    assert (np.count_nonzero(dense, axis=1) <= 64).all()
    np.testing.assert_allclose(np.linalg.norm(dense, axis=1), 1.0, rtol=1e-5)


def test_same_text_same_key_and_seed_matters() -> None:
    a = DGKeyer(KeyerConfig(seed=1)).keys(["Server x runs Redis on port 6379."])
    b = DGKeyer(KeyerConfig(seed=1)).keys(["Server x runs Redis on port 6379."])
    c = DGKeyer(KeyerConfig(seed=2)).keys(["Server x runs Redis on port 6379."])
    np.testing.assert_array_equal(a.indices, b.indices)
    assert not np.array_equal(a.indices, c.indices)


def test_partial_cue_finds_its_episode_among_hard_negatives() -> None:
    records = generate(n=100, seed=4)
    stored = [r for r in records if r["kind"] in ("target", "hard_negative")]
    keyer = DGKeyer()
    mem = keyer.keys([r["episode_text"] for r in stored]).dense()
    items = query_items(records)
    cues = keyer.keys([r["query"] for r in items]).dense()
    top = (cues @ mem.T).argmax(axis=1)
    p_at_1 = np.mean([stored[j]["id"] == r["id"] for j, r in zip(top, items, strict=True)])
    assert p_at_1 >= 0.9


def test_semantic_block_uses_vectorizer() -> None:
    calls: list[int] = []

    def vec(texts: Sequence[str]) -> np.ndarray:
        calls.append(len(texts))
        return np.ones((len(texts), 8), dtype=np.float32)

    keyer = DGKeyer(KeyerConfig(d=256, k=16, d_sem=64, k_sem=4, assembly=4), vectorizer=vec)
    keys = keyer.keys(["one two", "three"])
    assert calls == [2]
    assert (keys.indices[:, -4:] >= 192).all()  # semantic winners live in the last block


def test_bad_config_and_stopwords() -> None:
    with pytest.raises(ValueError):
        KeyerConfig(d=64, k=64)
    assert content_words("Who left the umbrella at Gate 12?") == ["left", "umbrella", "gate", "12"]
    assert len(SparseKeys(np.zeros((0, 4), np.int32), np.zeros((0, 4), np.float32), 16)) == 0
