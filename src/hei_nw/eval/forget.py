"""Forgetting that reaches the weights: forget facts after consolidation, then consolidate again.

CounterFact, N edits: write and serve the edit requests, consolidate (B3 learns them),
forget ``k`` of them, consolidate again -- the second consolidation adds *unlearning*
rows for the forgotten facts' served queries (pulled back to the base model's own
answers) while the rest stay replayable. Measured:

* ``forgotten_recall_rate`` -- share of forgotten facts that B1 still recalls (must be 0);
* ``forgotten_b3_rewrite`` / ``b0_rewrite`` -- B3's (memory off) teacher-forced rewrite
  accuracy on the forgotten facts, against the base model's on the same prompts;
* ``retained_ratio`` -- B3's rewrite accuracy on the kept facts after forgetting, over
  the same before forgetting.
"""

from __future__ import annotations

import random
import time
from collections.abc import Sequence
from typing import Any

from hei_nw.consolidation import state_of
from hei_nw.datasets.edits import EditCase, edit_doc
from hei_nw.eval.edit_replay import edit_anchors
from hei_nw.eval.edits import EDIT_PROMPT_FORMAT, edit_memory
from hei_nw.memory import MemoryConfig
from hei_nw.memory.features import base_weights
from hei_nw.models.base import GenerationPipeline
from hei_nw.prompts import build_prompt


def rewrite_tf(
    pipe: GenerationPipeline, cases: Sequence[EditCase], dataset: str = "counterfact"
) -> list[float]:
    """Per case: teacher-forced token accuracy of the new target after the rewrite prompt."""
    fmt = EDIT_PROMPT_FORMAT[dataset]
    decoded = pipe.run(
        [build_prompt(c.prompt, None, fmt) for c in cases],
        targets=[c.target_new for c in cases],
        max_new_tokens=0,
        batch_size=64,
    )
    return [d.forced.token_accuracy if d.forced else 0.0 for d in decoded]


def _mean(xs: Sequence[float]) -> float:
    return sum(xs) / max(1, len(xs))


def forget_experiment(
    pipe: GenerationPipeline,
    data: str,
    cases: Sequence[EditCase],
    config: MemoryConfig,
    k: int = 10,
    seed: int = 7,
) -> dict[str, Any]:
    t0 = time.perf_counter()
    dataset = "counterfact"
    mem = edit_memory(pipe, dataset, cases, config)
    mem.answer([c.prompt for c in cases], log=True, prompt_format=EDIT_PROMPT_FORMAT[dataset])
    anchors = edit_anchors(
        dataset, data, cases, per_family=mem.config.consolidation.anchor_per_family
    )
    first = mem.consolidate(anchors=anchors)
    before = rewrite_tf(state_of(mem).trainer.merged_pipe(), cases)
    gone = random.Random(seed).sample(range(len(cases)), k)
    forgotten = [cases[i] for i in gone]
    kept = [c for i, c in enumerate(cases) if i not in set(gone)]
    for c in forgotten:
        tid = next(
            t["trace_id"]
            for t in mem.traces()
            if t["tokens_span_ref"]["doc"] == edit_doc(dataset, c)
        )
        mem.forget(tid)
    recalls = mem.recall_many([c.prompt for c in forgotten])
    still = sum(
        any(h.trace["tokens_span_ref"]["doc"] == edit_doc(dataset, c) for h in r.hits)
        for r, c in zip(recalls, forgotten, strict=True)
    )
    second = mem.consolidate(anchors=anchors)
    after = rewrite_tf(state_of(mem).trainer.merged_pipe(), cases)
    with base_weights(mem.pipe.model):
        base = rewrite_tf(mem.pipe, forgotten)
    idx_kept = [i for i in range(len(cases)) if i not in set(gone)]
    retained_before = _mean([before[i] for i in idx_kept])
    retained_after = _mean([after[i] for i in idx_kept])
    return {
        "schema": "hei_nw.forget/1",
        "dataset": dataset,
        "data": data,
        "edits": len(cases),
        "forgotten": k,
        "forgotten_cases": [c.case_id for c in forgotten],
        "forgotten_recall_rate": still / max(1, k),
        "forgotten_b3_rewrite": _mean([after[i] for i in gone]),
        "forgotten_b3_rewrite_before": _mean([before[i] for i in gone]),
        "b0_rewrite": _mean(base),
        "retained_b3_rewrite_before": retained_before,
        "retained_b3_rewrite_after": retained_after,
        "retained_ratio": retained_after / retained_before if retained_before else None,
        "kept": len(kept),
        "consolidations": [first.as_dict(), second.as_dict()],
        "wall_time_s": time.perf_counter() - t0,
    }


__all__ = ["forget_experiment", "rewrite_tf"]
