from collections import Counter

import pytest

from hei_nw.consolidation.queue import (
    CA2Scheduler,
    QueueItem,
    ReplayQueue,
    hint_cosine,
    key_hint_from_slots,
    simhash_for_slots,
)


def payload(i: int, s: float = 1.0, who: str | None = None, group: int | None = None) -> dict:
    slots = {"who": who or f"person{i}", "what": f"item{i}", "where": f"place{i}"}
    return {
        "trace_id": f"doc{i}#0:10",
        "score_S": s,
        "created_at": float(i),
        "group_id": i if group is None else group,
        "entity_slots": slots,
    }


def test_push_and_pop_order_ca2():
    q = ReplayQueue(CA2Scheduler(score_w=(1.0, 0.0, 0.0, 0.0)))
    q.push([payload(0, 0.2), payload(1, 1.5), payload(2, 0.9)])
    order = [q.pop_batch(1, policy="ca2")[0].trace_id for _ in range(3)]
    assert order == ["doc1#0:10", "doc2#0:10", "doc0#0:10"]
    # A pass is over: the next pop starts a new pass with every item.
    assert q.pop_batch(1, policy="ca2")[0].trace_id == "doc1#0:10"
    assert q.passes == 1


def test_pass_covers_every_item_once():
    q = ReplayQueue()
    q.push([payload(i) for i in range(10)])
    seen = [it.trace_id for _ in range(5) for it in q.pop_batch(2, policy="ca2")]
    assert sorted(seen) == sorted(f"doc{i}#0:10" for i in range(10))


def test_diversity_bucket_reduces_duplicates():
    # Half the items are near-duplicates of one another (same slots but one word).
    dupes = [
        payload(i) | {"entity_slots": {"who": "Ana", "what": "key", "where": "bar", "n": str(i)}}
        for i in range(6)
    ]
    others = [payload(i) for i in range(6, 12)]
    sched = CA2Scheduler(score_w=(0.0, 0.0, 1.0, 1.0))
    q = ReplayQueue(sched)
    q.push(dupes + others)
    batch = q.pop_batch(4, policy="ca2")
    n_dupes = sum(it.entity_slots.get("who") == "Ana" for it in batch)
    assert n_dupes <= 1
    # Control: with the diversity and overlap terms off, S alone picks the duplicates.
    plain = ReplayQueue(CA2Scheduler(score_w=(1.0, 0.0, 0.0, 0.0)))
    plain.push([d | {"score_S": 2.0} for d in dupes] + others)
    assert sum(it.entity_slots.get("who") == "Ana" for it in plain.pop_batch(4)) == 4


def test_shuffled_policy_uniformity():
    q = ReplayQueue(seed=3)
    q.push([payload(i) for i in range(10)])
    counts = Counter(it.trace_id for _ in range(2000) for it in q.pop_batch(2, policy="shuffled"))
    assert len(counts) == 10
    assert max(counts.values()) / min(counts.values()) < 1.35  # ~400 each


def test_shuffled_pass_is_a_permutation():
    q = ReplayQueue(seed=1)
    q.push([payload(i) for i in range(9)])
    seen = [it.trace_id for _ in range(3) for it in q.pop_batch(3, policy="shuffled-pass")]
    assert len(set(seen)) == 9


def test_unknown_policy_and_bad_k():
    q = ReplayQueue()
    q.push([payload(0)])
    with pytest.raises(ValueError, match="unknown replay policy"):
        q.pop_batch(1, policy="lifo")
    with pytest.raises(ValueError, match="k must be positive"):
        q.pop_batch(0)
    with pytest.raises(ValueError, match="trace_id"):
        q.push([{"score_S": 1.0}])


def test_push_updates_and_remove():
    q = ReplayQueue()
    q.push([payload(0, 0.1)])
    q.pop_batch(1)
    q.push([payload(0, 2.0)])
    assert len(q) == 1 and q.items[0].score_S == 2.0 and q.items[0].replays == 1
    q.remove("doc0#0:10")
    assert len(q) == 0 and q.pop_batch(1) == []


def test_simhash_and_key_hint():
    a = {"who": "Ana", "what": "key", "where": "Cafe Lumen", "when": "Monday"}
    b = dict(a, when="Tuesday")
    c = {"who": "Bo", "what": "hat", "where": "Dock", "when": "Friday"}
    assert simhash_for_slots(a) == simhash_for_slots(dict(reversed(list(a.items()))))
    assert simhash_for_slots({}) == 0
    ha, hb, hc = key_hint_from_slots(a), key_hint_from_slots(b), key_hint_from_slots(c)
    assert ha and ha == sorted(ha)
    assert hint_cosine(ha, hb) > hint_cosine(ha, hc)
    assert hint_cosine(ha, ha) == pytest.approx(1.0)
    assert key_hint_from_slots({}) == [] and hint_cosine([], ha) == 0.0


def test_save_and_load_roundtrip(tmp_path):
    q = ReplayQueue()
    q.push([payload(i, s=i / 10) for i in range(5)])
    q.pop_batch(2)
    path = q.save(tmp_path / "replay" / "priority.db")
    again = ReplayQueue.load(path)
    assert [(i.trace_id, i.score_S, i.replays, i.key_hint) for i in again.items] == [
        (i.trace_id, i.score_S, i.replays, i.key_hint) for i in q.items
    ]
    bad = tmp_path / "junk.db"
    bad.write_bytes(b"not sqlite at all" * 20)
    with pytest.raises(ValueError, match="not a queue database"):
        ReplayQueue.load(bad)
    with pytest.raises(ValueError, match="does not exist"):
        ReplayQueue.load(tmp_path / "missing.db")


def test_stored_key_units_are_the_key_hint_and_none_policy_takes_the_newest_wave():
    q = ReplayQueue(seed=0)
    q.push([payload(0) | {"key_units": [9, 3, 7]}], wave=1)
    q.push([payload(1), payload(2)], wave=2)
    assert q.items[0].key_hint == [3, 7, 9] and q.items[0].wave == 1
    assert q.items[1].key_hint == key_hint_from_slots(q.items[1].entity_slots)
    picked = {it.trace_id for it in q.pop_batch(5, policy="none")}
    assert picked == {"doc1#0:10", "doc2#0:10"}


def test_queue_item_bucket_is_top_bits():
    it = QueueItem("t", 1.0, 0.0, (0xAB << 56) | 5, None, None)
    assert it.bucket == 0xAB
