"""``EpisodicMemory``: the one object that owns the gate, keyer, store, documents and recall.

>>> from hei_nw import EpisodicMemory
>>> mem = EpisodicMemory()                        # bundled SmolLM2-135M, offline
>>> mem.observe("Server stargazer runs Postgres on port 5433. Remember this.").written
True
>>> mem.recall("Which port does Postgres use on stargazer?")[0].text
'Server stargazer runs Postgres on port 5433. Remember this.'
>>> mem.generate("Which port does Postgres use on stargazer?")
'5433'

Writes go through the gate (surprise, novelty, reward, pin); the text is kept in the
memory's own document store and the trace holds only a pointer to it. Queries answered
with ``log=True`` are recorded with the memory's own answers (the served-query log):
that and the stored text are what :meth:`consolidate` learns from.
"""

from __future__ import annotations

import json
import logging
import os
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from hei_nw.memory.config import MemoryConfig
from hei_nw.memory.consolidators import ConsolidationReport, get_consolidator
from hei_nw.memory.documents import DocumentStore
from hei_nw.memory.embedders import shared_embedder
from hei_nw.memory.eviction import EvictionPolicy
from hei_nw.memory.features import LMFeatures, base_weights
from hei_nw.memory.gate import WriteGate
from hei_nw.memory.hopfield import HopfieldCompletion
from hei_nw.memory.keyer import DGKeyer
from hei_nw.memory.pack import Packer
from hei_nw.memory.queries import QueryLog, ServedQuery
from hei_nw.memory.recall import Recall, RecallService
from hei_nw.memory.store import AssociativeStore, IndexSpec, StoreError, check_store_path
from hei_nw.memory.traces import Trace
from hei_nw.memory.writer import EpisodeInput, TraceWriter
from hei_nw.models.base import GenerationOutput, GenerationPipeline, load_base
from hei_nw.models.sources import DEFAULT_MODEL
from hei_nw.prompts import STOP, build_prompt

logger = logging.getLogger(__name__)

DOCUMENTS = "documents.jsonl"
QUERIES = "queries.jsonl"
STATE = "memory.json"


@dataclass(frozen=True)
class WriteDecision:
    """The gate's verdict on one observed text (``trace_id`` is set when it was written)."""

    written: bool
    trace_id: str | None
    S: float
    surprise: float
    novelty: float
    reward: float
    pin: bool


@dataclass(frozen=True)
class Recalled:
    """One recalled memory: its text (resolved through the pointer), trace and score."""

    text: str
    trace: Trace
    score: float


@dataclass
class Answer:
    """A question answered with memory: the generated output and what recall brought."""

    output: GenerationOutput
    recall: Recall
    prompt: Any


class EpisodicMemory:
    """Episodic memory for a decoder-only LM: observe, recall, generate, forget, consolidate.

    ``model`` is a model alias / hub id / folder, or an already loaded
    :class:`~hei_nw.models.base.GenerationPipeline` (shared, not copied). ``path`` makes
    the memory persistent: :meth:`save` writes there, :meth:`open` reads it back.
    """

    def __init__(
        self,
        model: str | GenerationPipeline = DEFAULT_MODEL,
        path: str | os.PathLike[str] | None = None,
        config: MemoryConfig | None = None,
        *,
        device: str = "auto",
        dtype: str = "auto",
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.config = config or MemoryConfig()
        self.path = Path(path) if path is not None else None
        if self.path is not None:
            check_store_path(self.path)
        self.pipe = (
            model
            if isinstance(model, GenerationPipeline)
            else load_base(model, dtype, device=device)[2]
        )
        self.base_model = self.pipe.model  # the weights before any consolidation
        cfg = self.config
        self.features = LMFeatures(self.pipe, cfg.features.layer, cfg.features.batch_size)
        vectorizer = (
            shared_embedder(cfg.keyer.embedder).embed_passages if cfg.keyer.semantic else None
        )
        self.keyer = DGKeyer(
            cfg.keyer, vectorizer=vectorizer, word_weights=self.features.word_surprisal
        )
        geo = self.keyer.config
        self.spec = IndexSpec(
            d=geo.d,
            k=geo.k,
            hnsw_m=cfg.store.hnsw_m,
            ef_construction=cfg.store.ef_construction,
            ef_search=cfg.store.ef_search,
            candidates=cfg.store.candidates,
            keyer=self.keyer.fingerprint(),
        )
        hop = HopfieldCompletion(beta=cfg.hopfield.beta, steps=cfg.hopfield.steps)
        self.clock = clock
        self.store = AssociativeStore(self.spec, hop, self.path)
        self.store.clock = clock
        self.documents = DocumentStore()
        self.queries = QueryLog()
        self.gate = WriteGate(cfg.gate)
        self.writer = TraceWriter(
            self.features, self.keyer, self.store, self.gate, cfg.gate.use_for_writes, clock
        )
        self.packer = Packer(self.documents, self._count_tokens, cfg.packer)
        self.recaller = RecallService(
            self.keyer, self.store, self.packer, cfg.recall, cfg.hopfield.enabled
        )
        self.eviction = EvictionPolicy.from_config(cfg.eviction)
        self.consolidations: list[dict[str, Any]] = []
        self.consolidation_state: Any = None  # owned by the consolidation method (queue, trainer)
        self._next_doc = 0
        if self.path is not None and (self.path / "CURRENT").exists():
            self._load(self.path)

    # ------------------------------------------------------------------ writes
    def observe(
        self,
        text: str,
        *,
        pin: bool = False,
        reward: float = 0.0,
        doc: str | None = None,
        scope: str | None = None,
    ) -> WriteDecision:
        """Offer one text; the gate decides whether it is stored."""
        return self.observe_many([text], pins=[pin], rewards=[reward], docs=[doc], scopes=[scope])[
            0
        ]

    def observe_many(
        self,
        texts: Sequence[str],
        *,
        pins: Sequence[bool] | None = None,
        rewards: Sequence[float] | None = None,
        docs: Sequence[str | None] | None = None,
        scopes: Sequence[str | None] | None = None,
        progress: bool = False,
    ) -> list[WriteDecision]:
        """Offer texts in order (batched). ``docs`` names each text's document (default:
        a fresh id); ``scopes`` is user-given structure such as an edit's subject."""
        n = len(texts)
        episodes = []
        for i, text in enumerate(texts):
            if not isinstance(text, str) or not text.strip():
                raise ValueError(f"observe: text {i} is empty; pass the episode's text")
            doc = (docs[i] if docs is not None else None) or self._new_doc_id()
            episodes.append(
                EpisodeInput(
                    text=text,
                    doc=doc,
                    start=0,
                    end=len(text),
                    reward=float(rewards[i]) if rewards is not None else 0.0,
                    pin=bool(pins[i]) if pins is not None else False,
                    scope=scopes[i] if scopes is not None else None,
                )
            )
        before = len(self.writer.records)
        decisions = self.writer.write_stream(
            episodes, self.config.features.batch_size, progress=progress
        )
        written = {r["trace_id"] for r in self.writer.records[before:]}
        out = []
        for ep, d in zip(episodes, decisions, strict=True):
            tid = ep.trace_id if ep.trace_id in written else None
            if tid is not None:
                self.documents.add(ep.doc, ep.text)
            out.append(
                WriteDecision(tid is not None, tid, d.S, d.surprise, d.novelty, d.reward, d.pin)
            )
        if self.config.eviction.auto:
            self.decay()
        assert len(out) == n
        return out

    def _new_doc_id(self) -> str:
        while True:
            self._next_doc += 1
            doc = f"doc-{self._next_doc:08d}"
            if doc not in self.documents:
                return doc

    # ---------------------------------------------------------------- recall
    def recall(self, cue: str, k: int | None = None) -> list[Recalled]:
        """The best ``k`` traces for ``cue`` (default ``config.recall.top_m``)."""
        return [
            Recalled(self._text(h.trace), h.trace, h.score)
            for h in self.recall_many([cue], k)[0].hits
        ]

    def recall_many(self, cues: Sequence[str], k: int | None = None) -> list[Recall]:
        """Batched recall with the service's full result (packed text, candidates, timings)."""
        return self.recaller.recall(list(cues), top_m=k)

    def _text(self, trace: Trace) -> str:
        ref = trace["tokens_span_ref"]
        return self.documents.text(ref["doc"], ref["start"], ref["end"])

    # ------------------------------------------------------------ generation
    def generate(self, prompt: str, *, memory: bool = True, log: bool = False, **gen: Any) -> str:
        """Answer ``prompt`` with recalled memory in the prompt (``memory=False``: without)."""
        return self.answer([prompt], memory=memory, log=log, **gen)[0].output["text"]

    def answer(
        self,
        questions: Sequence[str],
        *,
        memory: bool = True,
        log: bool = False,
        prompt_format: str | None = None,
        max_new_tokens: int | None = None,
        batch_size: int | None = None,
        topk: int | None = None,
    ) -> list[Answer]:
        """Recall for each question, build the prompt with the memory as notes, generate.

        ``log=True`` records each answered query in the served-query log with the base
        model's (B1's) answer and its top-k log-probabilities: the teacher signal of
        consolidation. Never log evaluation questions.
        """
        g = self.config.generation
        fmt = prompt_format or g.prompt_format
        recalls = (
            self.recall_many(questions) if memory else [Recall("", [], [], []) for _ in questions]
        )
        prompts = [
            build_prompt(q, r.memory_text or None, fmt)
            for q, r in zip(questions, recalls, strict=True)
        ]
        k = topk if topk is not None else (self.config.consolidation.topk if log else 0)

        def run() -> list[Any]:
            return self.pipe.run(
                prompts,
                max_new_tokens=max_new_tokens or g.max_new_tokens,
                stop=STOP,
                batch_size=batch_size or g.batch_size,
                topk=k,
            )

        if log:  # the teacher is B1: base weights with memory in the prompt
            with base_weights(self.pipe.model):
                decoded = run()
        else:
            decoded = run()
        out = []
        for q, r, p, d in zip(questions, recalls, prompts, decoded, strict=True):
            output = self.pipe.output(d, STOP)
            out.append(Answer(output, r, p))
            if log and r.hits:
                n = self.pipe.stop_length(d.generated, STOP)
                self.queries.add(
                    ServedQuery(
                        query=q,
                        prompt_format=fmt,
                        trace_ids=[h.trace["trace_id"] for h in r.hits],
                        answer=output["text"],
                        answer_ids=d.generated[:n],
                        topk_ids=d.topk_ids[:n],
                        topk_logprobs=d.topk_logprobs[:n],
                        memory_text=r.memory_text,
                    )
                )
        return out

    # ------------------------------------------------------------ forgetting
    def forget(self, target: str | Callable[[Recalled], bool]) -> list[str]:
        """Remove a trace by id, or every trace a predicate selects; returns the removed ids.

        The trace and its document are deleted, so recall never returns it again. If it
        was consolidated, the next :meth:`consolidate` also unlearns it: the queries it
        served are marked, and consolidation pulls the weights back to the base model's
        answers on them.
        """
        if isinstance(target, str):
            ids = [target] if target in self.store.slot_of else []
        else:
            ids = [
                t["trace_id"]
                for t in self.store.live_traces()
                if target(Recalled(self._text(t), t, 1.0))
            ]
        self._remove(ids)
        return ids

    def decay(self, now: float | None = None) -> list[str]:
        """Evict what the eviction policy selects (TTL, then capacity; pins are kept)."""
        victims = self.store.decay(self.eviction, now)
        self._drop_documents(victims)
        return victims

    def _remove(self, ids: Sequence[str]) -> None:
        for tid in ids:
            self.store.delete(tid)
        self._drop_documents(ids)
        marked = self.queries.mark_forgotten(set(ids))
        if ids:
            logger.info(
                "forgot %d traces (%d served queries marked for unlearning)", len(ids), marked
            )

    def _drop_documents(self, ids: Sequence[str]) -> None:
        live_docs = {t["tokens_span_ref"]["doc"] for t in self.store.live_traces()}
        for tid in ids:
            doc = tid.rpartition("#")[0]
            if doc not in live_docs:
                self.documents.remove(doc)

    # --------------------------------------------------------- consolidation
    def consolidate(self, **options: Any) -> ConsolidationReport:
        """Distil what the memory does into LoRA weights (``config.consolidation``).

        Learns from the stored texts and the served-query log only. Afterwards the
        memory's model carries the adapter (B2 with memory on; :meth:`merged` gives B3).
        """
        method = get_consolidator(self.config.consolidation.method)
        report = method(self, **options)
        self.consolidations.append(report.as_dict())
        return report

    @property
    def consolidated(self) -> bool:
        return self.pipe.model is not self.base_model

    # ----------------------------------------------------------- persistence
    def save(self, path: str | os.PathLike[str] | None = None) -> Path:
        """Write store, documents, served queries and settings atomically (one generation)."""
        root = Path(path) if path is not None else self.path
        if root is None:
            raise StoreError("no memory path: pass path= to EpisodicMemory or save(path)")
        state = {
            "config": self.config.model_dump(mode="json"),
            "next_doc": self._next_doc,
            "consolidations": self.consolidations,
        }
        self.store.sidecars = {
            DOCUMENTS: self.documents.to_bytes(),
            QUERIES: self.queries.to_bytes(),
            STATE: json.dumps(state).encode("utf-8"),
        }
        self.store.save(root)
        self.path = root
        return root

    @classmethod
    def open(
        cls,
        path: str | os.PathLike[str],
        model: str | GenerationPipeline = DEFAULT_MODEL,
        **kwargs: Any,
    ) -> EpisodicMemory:
        """Reopen a saved memory (its settings come from the store)."""
        root = Path(path)
        store = AssociativeStore.open(root)
        state = json.loads(store.sidecars.get(STATE, b"{}") or b"{}")
        config = MemoryConfig.model_validate(state["config"]) if "config" in state else None
        return cls(model, root, config, **kwargs)

    def _load(self, root: Path) -> None:
        store = AssociativeStore.open(root)
        if store.config.keyer != self.spec.keyer or (store.config.d, store.config.k) != (
            self.spec.d,
            self.spec.k,
        ):
            raise StoreError(
                f"{root} was keyed by a different keyer ({store.config.keyer or 'not recorded'}); "
                f"this memory keys with {self.spec.keyer}; use a new path"
            )
        store.hopfield = self.store.hopfield
        store.clock = self.clock
        self.store = store
        self.writer.store = store
        self.recaller.store = store
        self.documents.docs.update(
            DocumentStore.from_bytes(store.sidecars.get(DOCUMENTS, b"")).docs
        )
        self.queries = QueryLog.from_bytes(store.sidecars.get(QUERIES, b""))
        state = json.loads(store.sidecars.get(STATE, b"{}") or b"{}")
        self._next_doc = int(state.get("next_doc", 0))
        self.consolidations = list(state.get("consolidations", []))
        missing = [
            t["trace_id"]
            for t in store.live_traces()
            if t["tokens_span_ref"]["doc"] not in self.documents
        ]
        if missing:
            raise StoreError(
                f"{root}: {len(missing)} traces have no document; the store is corrupt"
            )

    # ------------------------------------------------------------------ misc
    def __len__(self) -> int:
        return len(self.store)

    def traces(self) -> list[Trace]:
        return self.store.live_traces()

    def _count_tokens(self, text: str) -> int:
        return len(self.pipe.tokenizer(text, add_special_tokens=False)["input_ids"])


__all__ = ["Answer", "EpisodicMemory", "Recalled", "WriteDecision"]
