"""Statistics of the waves experiment: retention matrices over seeds and paired CIs.

``ca2_minus_shuffled``: final B3 retention (mean over all waves) of CA2 minus shuffled,
paired per seed, with a 95% bootstrap CI over the seeds. ``ca2_minus_none_oldest``:
the oldest wave's final retention, CA2 minus ``none``. The ablation table gives the same
final retention for CA2 with each scheduler term switched off. ``default_minus_shuffled``:
the library's default scheduler against shuffled, on the seeds its weights were chosen on
(``dev``) and on the others (``test``).

A percentile bootstrap over a handful of seeds is narrow by construction (two seeds give
at most three distinct means), so each difference also says whether it rests on at least
``MIN_SEEDS`` seeds; ``significant`` needs both that and a CI that excludes zero.
"""

from __future__ import annotations

import warnings
from collections.abc import Sequence
from typing import Any

import numpy as np

from hei_nw.metrics.stats import paired_bootstrap

MIN_SEEDS = 5  # the minimum for a statistical claim about the scheduler


def _by(runs: Sequence[dict[str, Any]], variant: str) -> dict[int, dict[str, Any]]:
    return {r["seed"]: r for r in runs if r["variant"] == variant}


def _matrix_stats(rows: Sequence[dict[str, Any]]) -> dict[str, Any]:
    mats = [
        np.array([[np.nan if x is None else x for x in row] for row in r["matrix"]]) for r in rows
    ]
    stack = np.stack(mats)  # [seeds, waves_after, waves]
    with warnings.catch_warnings():  # waves not yet written are NaN in every seed
        warnings.simplefilter("ignore", RuntimeWarning)
        mean, sd = np.nanmean(stack, axis=0), np.nanstd(stack, axis=0)
    return {
        "mean": np.round(mean, 4).tolist(),
        "sd": np.round(sd, 4).tolist(),
        "seeds": len(rows),
    }


def paired(
    runs: Sequence[dict[str, Any]], a: str, b: str, key: str, seed: int = 0
) -> dict[str, Any] | None:
    """``key`` of variant ``b`` minus variant ``a``, paired by seed (bootstrap CI)."""
    ra, rb = _by(runs, a), _by(runs, b)
    seeds = sorted(set(ra) & set(rb))
    if not seeds:
        return None
    ci = paired_bootstrap([ra[s][key] for s in seeds], [rb[s][key] for s in seeds], 10_000, seed)
    enough = len(seeds) >= MIN_SEEDS
    return {
        **ci,
        "seeds": seeds,
        "per_seed": [rb[s][key] - ra[s][key] for s in seeds],
        "min_seeds": MIN_SEEDS,
        "enough_seeds": enough,
        "significant": bool(enough and ci["excludes_zero"]),
    }


def default_minus_shuffled(
    runs: Sequence[dict[str, Any]], variant: str | None, dev_seeds: Sequence[int]
) -> dict[str, Any] | None:
    """The library's default scheduler (run as ``variant``) minus shuffled, final mean,
    paired per seed and split: ``dev`` over the seeds its weights were chosen on,
    ``test`` over the rest -- only ``test`` can confirm the choice."""
    if variant is None:
        return None
    dev = {int(s) for s in dev_seeds}

    def part(keep: bool) -> dict[str, Any] | None:
        sub = [r for r in runs if (int(r["seed"]) in dev) == keep]
        return paired(sub, "shuffled", variant, "final_mean")

    return {"variant": variant, "dev_seeds": sorted(dev), "dev": part(True), "test": part(False)}


def summarise(
    runs: Sequence[dict[str, Any]],
    config: dict[str, Any],
    default_variant: str | None = None,
    dev_seeds: Sequence[int] = (),
) -> dict[str, Any]:
    """Retention statistics of ``runs``; ``default_variant`` names the run variant that
    is the library's default scheduler, ``dev_seeds`` the seeds it was chosen on."""
    variants = sorted({r["variant"] for r in runs})
    out: dict[str, Any] = {
        "schema": "hei_nw.interference/2",
        "retention": "B3 EM on held-out phrasings, memory off, after each wave's consolidation",
        "config": config,
        "variants": {
            v: {
                **_matrix_stats(list(_by(runs, v).values())),
                "final_mean_per_seed": {
                    s: r["final_mean"] for s, r in sorted(_by(runs, v).items())
                },
            }
            for v in variants
        },
    }
    out["ca2_minus_shuffled"] = paired(runs, "shuffled", "ca2", "final_mean")
    out["ca2_minus_none_oldest"] = paired(runs, "none", "ca2", "oldest_final")
    out["ca2_minus_none"] = paired(runs, "none", "ca2", "final_mean")
    ablation = {}
    for v in variants:
        if v.startswith("ca2:") and v != "ca2:all":
            diff = paired(
                runs,
                v,
                "ca2:all" if any(r["variant"] == "ca2:all" for r in runs) else "ca2",
                "final_mean",
            )
            ablation[v.removeprefix("ca2:")] = diff
    out["ablation"] = ablation
    out["default_minus_shuffled"] = default_minus_shuffled(runs, default_variant, dev_seeds)
    out["memory"] = memory_by_wave(runs)
    drift = [
        r["drift_changed_fraction"] for r in runs if r.get("drift_changed_fraction") is not None
    ]
    out["drift"] = {
        "runs": len(drift),
        "changed_fraction_max": max(drift) if drift else None,
        "changed_fraction_mean": float(np.mean(drift)) if drift else None,
        "passed_all": (
            all(r["drift_passed"] for r in runs if r.get("drift_passed") is not None)
            if drift
            else None
        ),
    }
    return out


def memory_by_wave(runs: Sequence[dict[str, Any]]) -> dict[str, Any] | None:
    """Per wave, the mean over seeds of what the memory wrote and served (the same for
    every policy of a seed: writes and serving precede consolidation). ``None`` when no
    run recorded it (runs made before the statistics existed)."""
    per_seed: dict[int, list[dict[str, Any]]] = {}
    for r in runs:
        if r.get("memory") and all(w is not None for w in r["memory"]):
            per_seed.setdefault(int(r["seed"]), r["memory"])
    if not per_seed:
        return None
    waves = list(zip(*per_seed.values(), strict=True))  # [waves][seeds]
    keys = list(waves[0][0])

    def mean(values: list[Any]) -> float | None:  # a statistic may be None on a seed
        present = [v for v in values if v is not None]
        return round(float(np.mean(present)), 4) if present else None

    return {
        "seeds": sorted(per_seed),
        "by_wave": [{k: mean([s.get(k) for s in wave]) for k in keys} for wave in waves],
    }


__all__ = ["MIN_SEEDS", "default_minus_shuffled", "memory_by_wave", "paired", "summarise"]
