from hei_nw.datasets import get_scenario
from hei_nw.replay import ReplayQueue
from hei_nw.traces import scenario_doc


def _queue(seed: int) -> ReplayQueue:
    records = get_scenario("A").generate(24, 7)
    q = ReplayQueue(seed=seed)
    q.push(
        {
            "trace_id": f"{scenario_doc(r['pointer'])}#0:{len(r['episode_text'])}",
            "score_S": 1.0,
            "created_at": float(r["index"]),
            "group_id": r["group_id"],
            "entity_slots": r["slots"],
        }
        for r in records
        if r["kind"] in ("target", "hard_negative")
    )
    return q


def _traces_covered(policy: str, seed: int, budget_batches: int, k: int = 4) -> int:
    q = _queue(seed)
    seen = {it.trace_id for _ in range(budget_batches) for it in q.pop_batch(k, policy=policy)}
    return len(seen)


def test_shuffled_worse_than_ca2_on_proxy_metric():
    # Proxy of retention under a fixed budget: how many stored episodes get rehearsed at all.
    q = _queue(0)
    budget = len(q) // 4  # one pass worth of batches of 4
    ca2 = [_traces_covered("ca2", s, budget) for s in range(3)]
    shuffled = [_traces_covered("shuffled", s, budget) for s in range(3)]
    assert all(c == 4 * budget for c in ca2)
    assert max(shuffled) < min(ca2)
