from hei_nw.replay import ReplayQueue
from tests.replay_helpers import queue_for


def _queue(seed: int) -> ReplayQueue:
    return queue_for("A", 24, 7, q_seed=seed)[0]


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
