"""Consolidate N knowledge edits into LoRA weights: the adapter behind edit modes B2/B3.

The N edit requests (prompt, subject, new target: the user's input) are written through
the gate; the memory then *serves* each request's own prompt and logs its answer (B1,
the fact recalled by its subject) -- the teacher signal. Rephrase and locality prompts
are never served or trained on. :meth:`EpisodicMemory.consolidate` distils B1 into
LoRA, held to the base model on anchor prompts: cloze prompts of CounterFact records
outside the run (their rewrite prompts) and the packaged anchor questions. The drift
guard then asks >= 1000 prompts that no row contains: the locality prompts of records
not edited in the run and the packaged drift questions.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from hei_nw.consolidation import state_of
from hei_nw.datasets.edits import EditCase, load_edits
from hei_nw.datasets.general_questions import general_questions
from hei_nw.eval import drift as drift_guard
from hei_nw.eval.edits import EDIT_PROMPT_FORMAT, edit_memory
from hei_nw.eval.harness import package_versions
from hei_nw.memory import MemoryConfig
from hei_nw.memory.features import base_weights
from hei_nw.models.base import GenerationPipeline
from hei_nw.models.decoding import Forced
from hei_nw.prompts import build_prompt

logger = logging.getLogger(__name__)


def edit_anchors(
    dataset: str, data: str, cases: Sequence[EditCase], limit: int = 600, per_family: int = 90
) -> dict[str, list[str]]:
    """Anchor prompts per layout: for CounterFact, the rewrite prompts of records outside
    the run (the relation templates the edits use, other subjects), plus packaged questions."""
    out: dict[str, list[str]] = {"completion": list(general_questions("anchor", per_family))}
    if dataset == "counterfact":
        edited = {c.case_id for c in cases}
        pool = [c.prompt for c in load_edits(data, "counterfact") if c.case_id not in edited]
        out["cloze"] = list(dict.fromkeys(pool))[:limit]
    return out


def drift_questions(
    dataset: str, data: str, cases: Sequence[EditCase], exclude: set[str]
) -> list[tuple[str, str, str]]:
    """The drift suite: packaged drift questions plus, for CounterFact, the locality
    prompts of records not edited in the run; nothing a row contains."""
    questions = drift_guard.suite_questions(None, exclude=exclude)
    if dataset == "counterfact":
        edited = {c.case_id for c in cases}
        seen: set[str] = set()
        for c in load_edits(data, "counterfact"):
            p = c.locality_prompt
            if c.case_id not in edited and p not in exclude and p not in seen:
                seen.add(p)
                questions.append((p, "cloze", "counterfact-locality"))
    return questions


def consolidate_edits(
    pipe: GenerationPipeline,
    dataset: str,
    data: str,
    cases: Sequence[EditCase],
    config: MemoryConfig,
    artifacts: str | Path,
    drift: bool = True,
    tolerance: float = drift_guard.TOLERANCE,
) -> dict[str, Any]:
    """Write, serve, consolidate, save ``<artifacts>/adapter``; returns the run summary."""
    t0 = time.perf_counter()
    fmt = EDIT_PROMPT_FORMAT[dataset]
    mem = edit_memory(pipe, dataset, cases, config)
    requests = [c.prompt for c in cases]
    mem.answer(requests, log=True, prompt_format=fmt)
    logger.info(
        "%d of %d edits written; %d requests served with a recalled fact",
        len(mem),
        len(cases),
        len(mem.queries),
    )
    anchors = edit_anchors(
        dataset, data, cases, per_family=mem.config.consolidation.anchor_per_family
    )
    exclude = set(requests) | {q for qs in anchors.values() for q in qs}
    suite = None
    if drift:
        suite = drift_guard.build_suite(pipe, drift_questions(dataset, data, cases, exclude), 128)
    report = mem.consolidate(anchors=anchors, adapter_dir=Path(artifacts) / "adapter")
    trainer = state_of(mem).trainer
    b3 = trainer.merged_pipe()
    retention = edit_retention(b3, dataset, cases)
    guard: dict[str, Any] = {"skipped": True}
    if suite is not None:
        with base_weights(mem.pipe.model):
            guard = drift_guard.measure(b3, suite, mem.pipe, tolerance, 128)
    return {
        "schema": "hei_nw.edit-consolidation/2",
        "dataset": dataset,
        "data": data,
        "edits": len(cases),
        "written_by_gate": len(mem),
        "served_queries": len(mem.queries),
        "versions": package_versions(),
        "consolidation": report.as_dict(),
        "consolidation_s_per_fact": report.seconds_per_fact,
        "training_tokens_per_s": report.tokens_per_s,
        "peak_memory_mb": report.peak_memory_mb,
        "retention_b3": retention,
        "drift_changed_fraction": guard.get("drift_changed_fraction"),
        "drift_suite_size": guard.get("drift_suite_size"),
        "drift_guard": guard,
        "anchors": {k: len(v) for k, v in anchors.items()},
        "wall_time_s": time.perf_counter() - t0,
        "artifacts": str(artifacts),
    }


def edit_retention(
    pipe: GenerationPipeline, dataset: str, cases: Sequence[EditCase]
) -> dict[str, float]:
    """Memory-off teacher-forced accuracy of the new target: rewrite (served) and rephrase (held out)."""
    fmt = EDIT_PROMPT_FORMAT[dataset]
    out: dict[str, float] = {}
    for kind, prompts in (
        ("rewrite", [c.prompt for c in cases]),
        ("rephrase", [c.rephrase for c in cases]),
    ):
        decoded = pipe.run(
            [build_prompt(p, None, fmt) for p in prompts],
            targets=[c.target_new for c in cases],
            max_new_tokens=0,
            batch_size=64,
        )
        forced: list[Forced] = [d.forced for d in decoded if d.forced is not None]
        out[f"{kind}_tf"] = sum(f.token_accuracy for f in forced) / max(1, len(forced))
    return out


__all__ = ["consolidate_edits", "drift_questions", "edit_anchors", "edit_retention"]
