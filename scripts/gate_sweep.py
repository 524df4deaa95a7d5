"""Sweep the write gate's tau over one scenario stream and score each setting with labels.

The stream is written once with the gate's scores recorded (gate off, so novelty is
measured against everything seen); each tau then decides ``S > tau``. Labels only
score the decisions: write rate, writes per 1k tokens, precision, recall, PR-AUC.

    python scripts/gate_sweep.py --scenario A --n 200 --out reports/m2/gate_sweep_A.json
"""

from __future__ import annotations

import argparse
import itertools
from pathlib import Path

import numpy as np

from hei_nw.datasets import get_scenario, scenario_doc
from hei_nw.eval.harness import package_versions
from hei_nw.memory import EpisodicMemory, MemoryConfig
from hei_nw.memory.gate import gate_telemetry
from hei_nw.models.base import load_base
from hei_nw.models.sources import DEFAULT_MODEL
from hei_nw.utils.io import write_json


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--scenario", default="A")
    parser.add_argument("--n", type=int, default=200)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--model", default=DEFAULT_MODEL)
    parser.add_argument(
        "--taus", type=float, nargs="+", default=[0.5, 0.6, 0.7, 0.8, 0.9, 1.0, 1.1]
    )
    parser.add_argument("--out", type=Path, required=True)
    args = parser.parse_args()
    _, _, pipe = load_base(args.model)
    records = get_scenario(args.scenario).generate(args.n, args.seed)
    # Every episode is written (gate off), so each S is scored against the full history.
    mem = EpisodicMemory(pipe, None, MemoryConfig().with_overrides({"gate.use_for_writes": False}))
    decisions = mem.observe_many(
        [r["episode_text"] for r in records], docs=[scenario_doc(r["pointer"]) for r in records]
    )
    scores = np.array([d.S for d in decisions])
    labels = [r["should_remember"] for r in records]
    sweep = []
    for tau in args.taus:
        tele = gate_telemetry(scores, scores > tau, labels, mem.writer.tokens_seen)
        tele.pop("calibration")
        sweep.append({"tau": tau, **tele})
    rates = [s["write_rate"] for s in sweep]
    result = {
        "scenario": args.scenario,
        "n": args.n,
        "seed": args.seed,
        "model_id": args.model,
        "records": len(records),
        "tokens": mem.writer.tokens_seen,
        "monotone": all(a >= b for a, b in itertools.pairwise(rates)),
        "calibration": gate_telemetry(
            scores, scores > args.taus[0], labels, mem.writer.tokens_seen
        )["calibration"],
        "sweep": sweep,
        "versions": package_versions(),
    }
    write_json(args.out, result)
    for s in sweep:
        print(
            f"tau {s['tau']:.2f}: write rate {s['write_rate']:.3f}, {s['writes_per_1k_tokens']:.1f}/1k tok, "
            f"precision {s['precision']}, recall {s['recall']}"
        )
    print(f"PR-AUC {sweep[0]['pr_auc']}; monotone {result['monotone']}; wrote {args.out}")


if __name__ == "__main__":
    main()
