"""Retrieval on full, partial and noisy cues: HEI-NW (with and without Hopfield) against
MiniLM, BM25 and their hybrid, on the same stored items, cues and P@1 rule.

One scenario stream is written through :class:`~hei_nw.memory.EpisodicMemory` exactly as
mode B1 writes it (the gate decides). Each held-out cue is then rewritten into the cue
sets of :mod:`hei_nw.eval.cue_sets` (text only) and every system answers every set. Per
set the report gives each system's P@1 and two paired-bootstrap CIs over the items:

* ``completion_lift``: Hopfield on minus Hopfield off (``ci_low`` / ``ci_high``);
* ``hei_nw_minus_best``: HEI-NW as configured minus the best baseline on that set.

Labels are read only to score (which stored record is the gold episode).
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import Any

import numpy as np

from hei_nw.datasets import get_scenario, query_items
from hei_nw.eval.cue_sets import CUE_SETS, cue_set
from hei_nw.eval.memory_mode import baseline_hits, build_memory, hei_nw_hits, write_phase
from hei_nw.memory import MemoryConfig
from hei_nw.metrics.stats import paired_bootstrap
from hei_nw.models.base import GenerationPipeline

logger = logging.getLogger(__name__)

__all__ = ["evaluate_retrieval"]


def _ci(a: Sequence[bool], b: Sequence[bool], n_boot: int, seed: int) -> dict[str, Any]:
    """Paired bootstrap of ``mean(b) - mean(a)``, keys ``diff``, ``ci_low``, ``ci_high``."""
    return dict(paired_bootstrap([float(x) for x in a], [float(x) for x in b], n_boot, seed))


def evaluate_retrieval(
    pipe: GenerationPipeline,
    scenario: str,
    n: int,
    seed: int,
    config: MemoryConfig,
    cue_sets: Sequence[str] = tuple(CUE_SETS),
    n_boot: int = 2000,
    baseline_name_ranks: Sequence[float] = (),
) -> dict[str, Any]:
    """Write scenario ``(n, seed)`` through the memory, then score every system on every
    cue set. Returns the JSON-ready report body (no command or versions).

    ``baseline_name_ranks`` adds each baseline re-ranked by shared names at each value
    (:func:`~hei_nw.eval.memory_mode.name_rerank`); the best baseline per cue set is
    then taken over all of them, picked on the reported items (favouring the baselines)."""
    unknown = [c for c in cue_sets if c not in CUE_SETS]
    if unknown:
        raise KeyError(f"unknown cue set(s) {unknown}; choose from {', '.join(CUE_SETS)}")
    records = get_scenario(scenario).generate(n, seed)
    items = query_items(records)
    if not items:
        raise ValueError(f"scenario {scenario} n={n} seed={seed} has no query items")
    mem = build_memory(pipe, config)
    gate = write_phase(mem, records)
    base_cues = [r["query"] for r in items]
    default_on = config.hopfield.enabled
    sets: dict[str, Any] = {}
    for name in cue_sets:
        cues = cue_set(name, base_cues, seed)
        on = hei_nw_hits(mem, items, records, cues, hopfield=True)
        off = hei_nw_hits(mem, items, records, cues, hopfield=False)
        base = baseline_hits(mem, items, records, cues, baseline_name_ranks)
        ours = on if default_on else off
        best = max(base, key=lambda k: float(np.mean(base[k])))
        p1 = {"hei_nw": float(np.mean(ours))}
        p1.update({k: float(np.mean(v)) for k, v in base.items()})
        sets[name] = {
            "examples": [
                {"asked": a, "cue": c} for a, c in list(zip(base_cues, cues, strict=True))[:3]
            ],
            "changed": float(np.mean([a != c for a, c in zip(base_cues, cues, strict=True)])),
            "p_at_1_by_system": p1,
            "p_at_1_hopfield_on": float(np.mean(on)),
            "p_at_1_hopfield_off": float(np.mean(off)),
            "completion_lift": _ci(off, on, n_boot, seed),
            "best_baseline": best,
            "hei_nw_minus_best": _ci(base[best], ours, n_boot, seed),
        }
        logger.info(
            "%s %s: P@1 %s, Hopfield lift %+.3f",
            scenario,
            name,
            {k: round(v, 3) for k, v in p1.items()},
            sets[name]["completion_lift"]["diff"],
        )
    return {
        "scenario": scenario,
        "n": len(items),
        "seed": seed,
        "hopfield_enabled": default_on,
        "name_bonus": config.recall.name_bonus,
        # as the system names write them ("1", "inf"): strict JSON has no infinity
        "baseline_name_ranks": [f"{b:g}" for b in baseline_name_ranks],
        "gate": {k: v for k, v in gate.items() if k != "calibration"},
        "retrieval": {"p_at_1_by_system": sets.get("full", sets[cue_sets[0]])["p_at_1_by_system"]},
        "cue_sets": sets,
    }
