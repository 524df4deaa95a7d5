"""The seed's import path: ``from hei_nw.replay import ReplayQueue, CA2Scheduler``.

The queue and scheduler live in :mod:`hei_nw.consolidation.queue`; this module re-exports
them so notebooks written against the seed keep working.
"""

from hei_nw.consolidation.queue import (
    POLICIES,
    SEED_SCORE_W,
    CA2Scheduler,
    QueueItem,
    ReplayQueue,
    hint_cosine,
    key_hint_from_slots,
    simhash_for_slots,
    slot_cue,
)

__all__ = [
    "POLICIES",
    "SEED_SCORE_W",
    "CA2Scheduler",
    "QueueItem",
    "ReplayQueue",
    "hint_cosine",
    "key_hint_from_slots",
    "simhash_for_slots",
    "slot_cue",
]
