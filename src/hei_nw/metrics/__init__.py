"""Text, retrieval, compute and timing metrics."""

from hei_nw.metrics.compute import (
    ComputeRecord,
    estimate_attention_flops,
    estimate_kv_bytes,
)
from hei_nw.metrics.text import exact_match, normalize_answer, recall_at_k, token_f1
from hei_nw.metrics.timing import LatencyTimer, time_block

__all__ = [
    "ComputeRecord",
    "LatencyTimer",
    "estimate_attention_flops",
    "estimate_kv_bytes",
    "exact_match",
    "normalize_answer",
    "recall_at_k",
    "time_block",
    "token_f1",
]
