"""Consolidation: replay queue and CA2 scheduler, label-free rows, the LoRA distillation
trainer, and ``consolidate()`` (registered as the memory's ``distill`` method); the
MEMIT-style closed-form write, ``consolidate_memit()`` (the ``memit`` method).

>>> from hei_nw.consolidation import ReplayQueue, CA2Scheduler, consolidate
"""

from hei_nw.consolidation.cycles import BUDGET_UNITS, ConsolidationState, consolidate, state_of
from hei_nw.consolidation.direct import consolidate_memit
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
from hei_nw.consolidation.rows import CueAnswerRowBuilder, LMReplayRowBuilder, TrainRow
from hei_nw.consolidation.trainer import DistillTrainer, TrainStats

__all__ = [
    "BUDGET_UNITS",
    "POLICIES",
    "SEED_SCORE_W",
    "CA2Scheduler",
    "ConsolidationState",
    "CueAnswerRowBuilder",
    "DistillTrainer",
    "LMReplayRowBuilder",
    "QueueItem",
    "ReplayQueue",
    "TrainRow",
    "TrainStats",
    "consolidate",
    "consolidate_memit",
    "hint_cosine",
    "key_hint_from_slots",
    "simhash_for_slots",
    "slot_cue",
    "state_of",
]
