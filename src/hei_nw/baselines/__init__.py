"""Baselines that HEI-NW is compared against: long-context packing and RAG."""

from hei_nw.baselines.long_context import build_context, build_history, run_long_context
from hei_nw.baselines.rag import Embedder, FaissIndex, HFEmbedder, run_rag

__all__ = [
    "Embedder",
    "FaissIndex",
    "HFEmbedder",
    "build_context",
    "build_history",
    "run_long_context",
    "run_rag",
]
