"""Consolidation: replay rows (``rows``) and the LoRA worker (``lora``)."""

from hei_nw.training.lora import ConsolidationWorker, LoRAConfig, TrainStats
from hei_nw.training.rows import (
    CueAnswerRowBuilder,
    LMReplayRowBuilder,
    TrainRow,
    parse_trace_id,
    semantic_rows,
)

__all__ = [
    "ConsolidationWorker",
    "CueAnswerRowBuilder",
    "LMReplayRowBuilder",
    "LoRAConfig",
    "TrainRow",
    "TrainStats",
    "parse_trace_id",
    "semantic_rows",
]
