"""Retention curves of replay runs, grouped by policy: mean and spread over seeds.

    python scripts/plot_replay_retention.py --runs reports/m4-run1 reports/m4-run1-shuffled \
        --outdir reports/interference/A

Each run folder holds one or more ``{scenario}_replay.json`` written by
``hei_nw.eval.replay_runner``. Writes ``retention.png`` and ``retention.json`` (per
retention measure and policy: mean, standard deviation, min and max of the final
retention, per-seed values, the curve, and CA2 against each other policy).
"""

from __future__ import annotations

import argparse
import json
import sys
from collections import defaultdict
from pathlib import Path
from typing import Any

import numpy as np

from hei_nw.utils.cli import OneLineErrorParser, fail
from hei_nw.utils.io import OutdirError, atomic_write_bytes, ensure_writable_dir, write_json

PROG = "scripts/plot_replay_retention.py"
METRIC = "token_accuracy"
# Retention measures, coarse to fine: share of answer tokens predicted (teacher-forced),
# and the mean log-probability of the answers (continuous; separates small differences).
METRICS = ("token_accuracy", "mean_logprob")


def load_runs(folders: list[str]) -> list[dict[str, Any]]:
    runs = []
    for folder in folders:
        found = sorted(Path(folder).glob("*_replay.json"))
        if not found:
            fail(PROG, f"--runs: no *_replay.json in {folder}; run hei_nw.eval.replay_runner first")
        for path in found:
            try:
                data = json.loads(path.read_text())
                data["retention_curve"][0][METRIC]
            except (json.JSONDecodeError, KeyError, IndexError, TypeError):
                fail(PROG, f"--runs: {path} is not a replay report (no retention_curve)")
            data["_path"] = str(path)
            runs.append(data)
    return runs


def policy_of(run: dict[str, Any]) -> str:
    return str(run.get("policy") or run["queue"]["policy"])


def summarise(runs: list[dict[str, Any]]) -> dict[str, Any]:
    out: dict[str, Any] = {
        "retention": "memory off, held-out cues; token_accuracy and mean_logprob of the answers",
        "metrics": {m: _summarise_metric(runs, m) for m in METRICS},
    }
    out["policies"] = out["metrics"][METRIC]["policies"]  # the headline measure
    return out


def _summarise_metric(runs: list[dict[str, Any]], metric: str) -> dict[str, Any]:
    by_policy: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for run in runs:
        by_policy[policy_of(run)].append(run)
    out: dict[str, Any] = {"metric": metric, "policies": {}}
    for policy, group in sorted(by_policy.items()):
        length = min(len(r["retention_curve"]) for r in group)
        curves = np.array([[c[metric] for c in r["retention_curve"][:length]] for r in group])
        steps = [c["steps"] for c in group[0]["retention_curve"][:length]]
        final = curves[:, -1]
        out["policies"][policy] = {
            "seeds": [r["seed"] for r in group],
            "runs": [r["_path"] for r in group],
            "steps": steps,
            "mean": curves.mean(axis=0).tolist(),
            "std": curves.std(axis=0).tolist(),
            "final_mean": float(final.mean()),
            "final_std": float(final.std()),
            "final_min": float(final.min()),
            "final_max": float(final.max()),
            "final_per_seed": final.tolist(),
        }
    pol = out["policies"]
    if "ca2" in pol:
        out["comparison"] = {
            k: {
                "ca2_minus_policy_final": pol["ca2"]["final_mean"] - v["final_mean"],
                "ca2_higher_every_seed": _paired_higher(pol["ca2"], v),
                "verdict": _verdict(k, pol["ca2"], v),
            }
            for k, v in pol.items()
            if k != "ca2"
        }
    return out


def _verdict(name: str, ca2: dict[str, Any], other: dict[str, Any]) -> str:
    """ "<name> worse" only when CA2 retains more on every paired seed."""
    if _paired_higher(ca2, other):
        return f"{name} worse (CA2 higher on every seed)"
    if _paired_higher(other, ca2):
        return f"{name} better (higher than CA2 on every seed)"
    return f"{name} not consistently worse (seeds disagree or tie)"


def _paired_higher(a: dict[str, Any], b: dict[str, Any]) -> bool | None:
    pairs = dict(zip(b["seeds"], b["final_per_seed"], strict=True))
    common = [
        (x, pairs[s]) for s, x in zip(a["seeds"], a["final_per_seed"], strict=True) if s in pairs
    ]
    return all(x > y for x, y in common) if common else None


def plot(summary: dict[str, Any], path: Path) -> None:
    import io

    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, len(METRICS), figsize=(11, 4))
    for ax, metric in zip(axes, METRICS, strict=True):
        for policy, s in summary["metrics"][metric]["policies"].items():
            mean, std = np.array(s["mean"]), np.array(s["std"])
            ax.plot(s["steps"], mean, marker="o", label=f"{policy} ({len(s['seeds'])} seeds)")
            ax.fill_between(s["steps"], mean - std, mean + std, alpha=0.2)
        ax.set_xlabel("replay steps (fixed budget)")
        ax.set_ylabel(f"retention: {metric}")
        ax.legend()
    fig.suptitle("Replay policy vs retention (mean ± s.d. over seeds, memory off)")
    fig.tight_layout()
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=110)
    plt.close(fig)
    atomic_write_bytes(path, buf.getvalue())


def main(argv: list[str] | None = None) -> int:
    parser = OneLineErrorParser(
        prog=PROG, description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--runs", nargs="+", required=True, help="run folders with *_replay.json")
    parser.add_argument("--outdir", required=True, help="where retention.png/json go")
    args = parser.parse_args(argv)
    try:
        out = ensure_writable_dir(args.outdir)
    except OutdirError as exc:
        fail(PROG, f"--outdir is not writable ({exc}); pass a folder you can write to")
    summary = summarise(load_runs(args.runs))
    summary["command"] = " ".join([PROG, *(argv if argv is not None else sys.argv[1:])])
    write_json(out / "retention.json", summary)
    plot(summary, out / "retention.png")
    for metric in METRICS:
        for policy, s in summary["metrics"][metric]["policies"].items():
            print(
                f"{metric} {policy}: final {s['final_mean']:.3f} ± {s['final_std']:.3f} "
                f"over seeds {s['seeds']}"
            )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
