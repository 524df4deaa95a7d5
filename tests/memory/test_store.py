import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

from hei_nw.memory.hopfield import HopfieldCompletion
from hei_nw.memory.keyer import DGKeyer
from hei_nw.memory.store import AssociativeStore, IndexSpec, StoreError
from hei_nw.memory.traces import Salience, SpanRef, new_trace

TEXTS = [
    "Alice left a backpack at Café Lumen on Monday morning.",
    "Bruno left an umbrella at the Harbor Library on Friday night.",
    "Server stargazer runs Postgres on port 5433.",
    "Update: the capital of France is now Lyon.",
]


def _traces(texts: list[str], pin: bool = False) -> list:
    return [
        new_trace(
            f"doc{i}#0:{len(t)}",
            SpanRef(doc=f"doc{i}", start=0, end=len(t)),
            Salience(surprise=0.5, novelty=1.0, reward=0.0, pin=pin, S=1.5),
        )
        for i, t in enumerate(texts)
    ]


def _store(path: Path | None = None) -> tuple[AssociativeStore, DGKeyer]:
    keyer = DGKeyer()
    store = AssociativeStore(IndexSpec(), HopfieldCompletion(), path)
    store.write(keyer.keys(TEXTS), _traces(TEXTS))
    return store, keyer


def test_write_lookup_delete() -> None:
    store, keyer = _store()
    res = store.lookup(keyer.keys(["Which port does Postgres use on stargazer?"]), top_m=2)[0]
    assert res.hits[0].trace["trace_id"].startswith("doc2#")
    assert len(res.hits) == 2
    assert store.delete("doc2#0:44")
    assert not store.delete("doc2#0:44")
    res = store.lookup(keyer.keys(["Which port does Postgres use on stargazer?"]), top_m=4)[0]
    assert all(not h.trace["trace_id"].startswith("doc2#") for h in res.hits)
    assert len(store) == 3


def test_novelty_support() -> None:
    store, keyer = _store()
    sims = store.max_similarity(keyer.keys([TEXTS[0], "Completely unrelated words here."]))
    assert sims[0] == pytest.approx(1.0, abs=1e-4)
    assert sims[1] < 0.5
    empty = AssociativeStore()
    assert empty.max_similarity(keyer.keys([TEXTS[0]]))[0] == 0.0


def test_persist_and_reload_in_new_process(tmp_path: Path) -> None:
    store, _keyer = _store(tmp_path / "s")
    store.delete("doc0#0:54")
    store.save()
    code = (
        "from hei_nw.memory.store import AssociativeStore; from hei_nw.memory.keyer import DGKeyer;"
        f"s=AssociativeStore.open({str(tmp_path / 's')!r});"
        "r=s.lookup(DGKeyer().keys(['Update: what is the capital of France?']))[0];"
        "print(len(s), r.hits[0].trace['trace_id'])"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.split() == ["3", "doc3#0:42"]


def test_corrupt_foreign_and_missing_stores(tmp_path: Path) -> None:
    with pytest.raises(StoreError, match="no store"):
        AssociativeStore.open(tmp_path / "none")
    store, _ = _store(tmp_path / "s")
    root = store.save()
    gen = next(root.glob("gen-*"))
    traces = gen / "traces.jsonl"
    traces.write_text(traces.read_text().replace("doc1", "docX"))
    with pytest.raises(StoreError, match="corrupt"):
        AssociativeStore.open(root)
    (root / "CURRENT").write_text("{not json")
    with pytest.raises(StoreError, match="corrupt"):
        AssociativeStore.open(root)
    (root / "CURRENT").write_text(json.dumps({"format": "someone-else/9"}))
    with pytest.raises(StoreError, match=r"not a hei_nw\.store"):
        AssociativeStore.open(root)


def test_wrong_key_dimension_is_refused() -> None:
    store, _ = _store()
    from hei_nw.memory.config import KeyerConfig

    small = DGKeyer(KeyerConfig(d=1024, k=64, d_sem=256, k_sem=8)).keys(["x y z"])
    with pytest.raises(StoreError, match="d=1024"):
        store.write(small, _traces(["x y z"]))
    with pytest.raises(StoreError, match="d=1024"):
        store.lookup(small)


def test_hopfield_is_read_only_at_inference() -> None:
    store, keyer = _store()
    before = (store.hopfield, store.indices.copy(), store.values.copy())
    for _ in range(3):
        store.lookup(keyer.keys(["Who left a backpack at Café Lumen?", "capital of France"]))
    assert store.hopfield == before[0]
    np.testing.assert_array_equal(store.indices, before[1])
    np.testing.assert_array_equal(store.values, before[2])
    with pytest.raises(AttributeError):
        store.hopfield.beta = 1.0  # type: ignore[misc]
    assert store.hopfield.updated(beta=4.0).beta == 4.0 and store.hopfield.beta != 4.0


def test_hopfield_completion_moves_cue_to_pattern() -> None:
    rng = np.random.default_rng(0)
    patterns = rng.standard_normal((5, 32)).astype(np.float32)
    patterns /= np.linalg.norm(patterns, axis=1, keepdims=True)
    cue = patterns[2] + 0.8 * rng.standard_normal(32).astype(np.float32)
    z = HopfieldCompletion(beta=32.0, steps=2).complete(patterns, cue)
    assert float(patterns[2] @ z) > float(patterns[2] @ (cue / np.linalg.norm(cue)))
    order, _ = HopfieldCompletion(beta=32.0).rerank(patterns, cue)
    assert order[0] == 2
    with pytest.raises(ValueError):
        HopfieldCompletion(steps=5)


WRITER = """
import sys
from hei_nw.memory.keyer import DGKeyer
from hei_nw.memory.store import AssociativeStore
from hei_nw.memory.traces import Salience, SpanRef, new_trace
path = sys.argv[1]
keyer = DGKeyer()
store = AssociativeStore(path=path)
for batch in range(1000):
    texts = [f"episode {batch} item {i} token{batch * 10 + i}" for i in range(10)]
    traces = [new_trace(f"b{batch}-{i}", SpanRef(doc=f"b{batch}", start=i, end=i + 1),
              Salience(surprise=0.5, novelty=1.0, reward=0.0, pin=False, S=1.5)) for i in range(10)]
    store.write(keyer.keys(texts), traces)
    store.save()
    print(batch, flush=True)
"""


def test_store_survives_kill_during_writes(tmp_path: Path) -> None:
    path = tmp_path / "store"
    proc = subprocess.Popen(
        [sys.executable, "-c", WRITER, str(path)], stdout=subprocess.PIPE, text=True
    )
    assert proc.stdout is not None
    saved = -1
    deadline = time.time() + 120
    while saved < 4 and time.time() < deadline:
        saved = int(proc.stdout.readline())
    time.sleep(0.05)  # land the kill somewhere inside a later write/save
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    store = AssociativeStore.open(path)
    assert len(store) % 10 == 0 and len(store) >= 10 * (saved + 1)
    assert store.get("b0-0")["tokens_span_ref"]["doc"] == "b0"
    # and the reopened store keeps working, even over a generation folder the kill orphaned
    (path / f"gen-{store.generation + 1:06d}").mkdir(exist_ok=True)
    (path / f"gen-{store.generation + 1:06d}" / "junk").write_text("x")
    (path / ".CURRENT.cut.tmp").write_text("{")  # a manifest write the kill may cut short
    store.write(DGKeyer().keys(["after the crash"]), _traces(["after the crash"]))
    store.save()
    assert len(AssociativeStore.open(path)) == len(store)
    assert sorted(p.name for p in path.iterdir()) == ["CURRENT", f"gen-{store.generation:06d}"]
