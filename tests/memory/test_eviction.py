import time

from hei_nw.memory.eviction import DAY_S, EvictionPolicy, simhash64
from hei_nw.memory.keyer import DGKeyer
from hei_nw.memory.store import AssociativeStore
from hei_nw.memory.traces import Salience, SpanRef, Trace, new_trace


def _trace(
    i: int, age_days: float, pin: bool = False, S: float = 1.0, slots: dict | None = None
) -> Trace:
    t = new_trace(
        f"t{i}",
        SpanRef(doc=f"d{i}", start=0, end=1),
        Salience(surprise=0.5, novelty=0.5, reward=0.0, pin=pin, S=S),
        entity_slots=slots or {"who": f"p{i}"},
    )
    t["last_access"] = time.time() - age_days * DAY_S
    return t


def test_ttl_evicts_expired_but_never_pinned() -> None:
    now = time.time()
    traces = [_trace(0, 40), _trace(1, 40, pin=True), _trace(2, 1)]
    assert EvictionPolicy(ttl_days=30).select(traces, now) == ["t0"]


def test_capacity_keeps_pinned_and_high_value() -> None:
    now = time.time()
    traces = [_trace(i, age_days=i, S=0.1) for i in range(6)] + [_trace(9, 20, pin=True, S=0.0)]
    victims = EvictionPolicy(ttl_days=30, capacity=3).select(traces, now)
    assert len(victims) == 4 and "t9" not in victims
    assert "t0" not in victims  # freshest survives


def test_pinned_survive_even_when_only_pinned_exceed_capacity() -> None:
    now = time.time()
    traces = [_trace(i, 100, pin=True) for i in range(5)]
    assert EvictionPolicy(ttl_days=30, capacity=1).select(traces, now) == []


def test_diversity_guard_evicts_duplicates_first() -> None:
    now = time.time()
    dup = {"who": "same", "what": "thing"}
    traces = [
        _trace(0, 1, S=0.0, slots={"who": "unique"}),
        _trace(1, 0, S=5.0, slots=dup),
        _trace(2, 0, S=5.0, slots=dup),
    ]
    victims = EvictionPolicy(capacity=2).select(traces, now)
    assert victims in (["t1"], ["t2"])  # a low-score unique trace outlives a crowded bucket


def test_simhash_near_duplicates() -> None:
    a = simhash64(["a", "b", "c", "d", "e", "f"])
    b = simhash64(["a", "b", "c", "d", "e", "g"])
    c = simhash64(["u", "v", "w", "x", "y", "z"])
    assert bin(a ^ b).count("1") < bin(a ^ c).count("1")


def test_store_decay_applies_policy() -> None:
    store = AssociativeStore()
    traces = [_trace(0, 40), _trace(1, 40, pin=True)]
    store.write(DGKeyer().keys(["old fact", "pinned fact"]), traces)
    assert store.decay(EvictionPolicy(ttl_days=30)) == ["t0"]
    assert len(store) == 1 and store.get("t1")["salience_tags"]["pin"]


def test_store_diversity_buckets_come_from_keys_not_slots() -> None:
    # t1 and t2 carry different slots but the same text, hence the same key: the memory
    # cannot tell them apart, so one of them goes before the low-score unique t0.
    store = AssociativeStore()
    traces = [
        _trace(0, 1, S=0.0, slots={"who": "dup"}),
        _trace(1, 0, S=5.0, slots={"who": "a"}),
        _trace(2, 0, S=5.0, slots={"who": "b"}),
    ]
    texts = [
        "a wholly different memory about tides",
        "the key is under the mat",
        "the key is under the mat",
    ]
    store.write(DGKeyer().keys(texts), traces)
    assert store.decay(EvictionPolicy(capacity=2)) in (["t1"], ["t2"])
    # By slots alone t1 and t2 look unique, and the low-score t0 would be evicted instead.
    assert EvictionPolicy(capacity=2).select(traces, time.time()) == ["t0"]
