"""The sparse stream: few facts among varied chatter, deterministic, pins in the text."""

from __future__ import annotations

from collections import Counter

from hei_nw.datasets.stream import sparse_stream
from hei_nw.memory.config import GateConfig
from hei_nw.memory.gate import detect_pin


def test_sparse_stream_is_sparse_varied_and_deterministic() -> None:
    turns = sparse_stream(60, seed=5)
    assert turns == sparse_stream(60, seed=5)
    assert turns != sparse_stream(60, seed=6)
    kinds = Counter(t["kind"] for t in turns)
    assert kinds["fact"] == 60
    words = [len(t["text"].split()) for t in turns]
    fact_words = sum(w for w, t in zip(words, turns, strict=True) if t["should_remember"])
    assert fact_words / sum(words) < 0.06
    chatter = [t["text"] for t in turns if t["kind"] == "chatter"]
    assert len(set(chatter)) > 0.8 * len(chatter)  # varied, not a dozen stock lines
    assert kinds["chatter_repeat"] > 0 and kinds["fact_repeat"] > 0
    markers = GateConfig().pin_markers
    facts = [t for t in turns if t["should_remember"]]
    pinned = [t for t in facts if detect_pin(t["text"], markers)]
    assert 0 < len(pinned) < len(facts)
    assert any(t["reward"] > 0 for t in facts)
    assert any(t["reward"] > 0 for t in turns if not t["should_remember"])
