"""Recall service: cue -> DG key -> ANN -> Hopfield -> traces -> packed memory text."""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass, field

from hei_nw.keyer import DGKeyer
from hei_nw.pack import Packer
from hei_nw.store import AssociativeStore, Hit
from hei_nw.writer import EpisodeInput, TraceWriter

__all__ = ["EpisodeInput", "Recall", "RecallService", "TraceWriter"]


@dataclass
class Recall:
    memory_text: str
    hits: list[Hit]
    candidate_ids: list[str]
    ann_ids: list[str]
    timings: dict[str, float] = field(default_factory=dict)


class RecallService:
    def __init__(
        self,
        keyer: DGKeyer,
        store: AssociativeStore,
        packer: Packer,
        top_m: int = 4,
        use_hopfield: bool = True,
        min_score: float | None = None,
    ) -> None:
        self.keyer = keyer
        self.store = store
        self.packer = packer
        self.top_m = top_m
        self.use_hopfield = use_hopfield
        # Relevance floor on the best hit's key cosine: below it nothing is recalled, so an
        # unrelated cue leaves the prompt untouched. ``None`` always recalls (B1 on A-E).
        self.min_score = min_score

    def fires(self, hits: Sequence[Hit]) -> bool:
        return bool(hits) and (self.min_score is None or hits[0].ann_score >= self.min_score)

    def recall(self, cues: Sequence[str]) -> list[Recall]:
        t0 = time.perf_counter()
        keys = self.keyer.keys(cues)
        t_key = (time.perf_counter() - t0) / max(1, len(cues))
        results = self.store.lookup(keys, top_m=self.top_m, use_hopfield=self.use_hopfield)
        out = []
        for res in results:
            t1 = time.perf_counter()
            hits = res.hits if self.fires(res.hits) else []
            text = self.packer.pack([h.trace for h in hits])
            t_pack = time.perf_counter() - t1
            self.store.touch([h.trace["trace_id"] for h in hits])
            timings = {"key_s": t_key, **res.timings, "pack_s": t_pack}
            out.append(Recall(text, hits, res.candidate_ids, res.ann_ids, timings))
        return out
