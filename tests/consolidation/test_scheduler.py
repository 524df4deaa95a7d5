import numpy as np

from hei_nw.consolidation.queue import CA2Scheduler, ReplayQueue


def item(i, s, when, who="Ana", what="key", where="Cafe Lumen"):
    return {
        "trace_id": f"d{i}#0:1",
        "score_S": s,
        "created_at": float(i),
        "group_id": i,
        "entity_slots": {"who": who, "what": what, "where": where, "when": when},
    }


def test_scheduler_prefers_high_S_recent_diverse():
    q = ReplayQueue()
    q.push(
        [
            item(0, 0.5, "Monday", who="Bo", what="hat", where="Dock"),
            item(1, 1.5, "Tuesday", who="Cy", what="pen", where="Mill"),  # salient
            item(2, 0.5, "Friday", who="Di", what="cup", where="Pier"),  # newest
        ]
    )
    sched = q.scheduler
    pr = sched.priorities(q.items, [], q.items)
    assert pr[1] > pr[0]  # higher S wins at equal age
    assert pr[2] > pr[0]  # newer wins at equal S
    # the diversity bonus: a candidate in a bucket the batch already holds loses it
    first = q.items[1]
    same_bucket = [first]
    with_batch = sched.priorities([first], same_bucket, q.items)
    alone = sched.priorities([first], [], q.items)
    assert with_batch[0] < alone[0]


def test_overlap_penalty_spreads_batches():
    # Pairs of near-collisions (same who/what/where, different when), as in scenario A/D.
    payloads = []
    for g in range(4):
        for j, when in enumerate(("Monday", "Friday")):
            payloads.append(
                item(2 * g + j, 1.0, when, who=f"P{g}", what=f"thing{g}", where=f"spot{g}")
            )
    spread = ReplayQueue(CA2Scheduler(score_w=(1.0, 0.0, 0.0, 0.5)))
    spread.push(payloads)
    batches = [spread.pop_batch(4, policy="ca2") for _ in range(2)]
    for b in batches:
        whos = [it.entity_slots["who"] for it in b]
        assert len(set(whos)) == 4, whos  # no near-collision pair shares a batch

    blind = ReplayQueue(CA2Scheduler(score_w=(1.0, 1.0, 0.0, 0.0)))
    blind.push(payloads)
    whos = [it.entity_slots["who"] for it in blind.pop_batch(4, policy="ca2")]
    assert len(set(whos)) < 4  # without the penalty, recency pairs them up


def test_need_term_orders_what_is_not_yet_held_first():
    q = ReplayQueue(CA2Scheduler(score_w=(1.0, 1.0, 0.0, 0.0), need_w=1.0))
    q.push([item(i, 1.0, "Monday", who=f"W{i}", what=f"t{i}", where=f"p{i}") for i in range(3)])
    q.set_need({"d0#0:1": 2.0, "d1#0:1": 0.1, "d2#0:1": 0.05})
    pr = q.scheduler.priorities(q.items, [], q.items)
    # Without need, recency alone puts the newest (d2) first; the need term moves d0 first.
    assert list(np.argsort(-pr)) == [0, 2, 1]
    blind = CA2Scheduler(score_w=(1.0, 1.0, 0.0, 0.0), need_w=0.0)
    assert list(np.argsort(-blind.priorities(q.items, [], q.items))) == [2, 1, 0]
    # An item never measured counts as fully needed (1.0 after normalisation).
    q.push([item(3, 1.0, "Friday", who="W3", what="t3", where="p3")])
    assert q.items[3].need is None
    scores = q.scheduler.priorities(q.items, [], q.items)
    assert scores[3] > scores[1]
