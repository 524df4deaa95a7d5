"""Summarise engineering probes E0-E3 from harness reports of one scenario.

    python scripts/probes_summary.py --dir reports/m2 --scenario A [--empty DIR]

E0 empty-memory parity: a B1 run with nothing written (``--gate.tau 1e9``, in
``--empty``) must send B0's exact prompts (same prompt hashes, same answers).
E1 oracle: the B0 run's oracle probe EM (target >= 0.8).
E2 retrieval-only: B1 EM against B1 P@1 (target: within 5 points).
E3 Hopfield ablation: completion lift of P@1 on the held-out partial cues (target >= 0).
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

from hei_nw.utils.io import write_json


def load(path: Path) -> dict[str, Any]:
    if not path.is_file():
        sys.exit(f"probes_summary: {path} is missing; run the harness for it first")
    return dict(json.loads(path.read_text()))


def e0(b0: dict[str, Any], empty: dict[str, Any]) -> dict[str, Any]:
    base = {r["id"]: r for r in b0["main"]["rows"]}
    rows = [r for r in empty["main"]["rows"] if r["id"] in base]
    same_prompt = sum(r["prompt_sha256"] == base[r["id"]]["prompt_sha256"] for r in rows)
    same_answer = sum(r["prediction"] == base[r["id"]]["prediction"] for r in rows)
    writes = empty["main"]["extra"]["gate"]["writes"]
    return {
        "n": len(rows),
        "writes": writes,
        "identical_prompts": same_prompt,
        "identical_answers": same_answer,
        "pass": writes == 0 and same_prompt == same_answer == len(rows) > 0,
    }


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--dir", type=Path, required=True)
    parser.add_argument("--scenario", required=True)
    parser.add_argument(
        "--empty", type=Path, default=None, help="folder of the empty-memory B1 run (E0)"
    )
    args = parser.parse_args()
    b0 = load(args.dir / f"{args.scenario}_B0_metrics.json")
    b1 = load(args.dir / f"{args.scenario}_B1_metrics.json")
    retrieval = b1["main"]["extra"]["retrieval"]
    em = b1["main"]["aggregate"]["em"]
    out: dict[str, Any] = {
        "scenario": args.scenario,
        "n": b1["run"]["n"],
        "seed": b1["run"]["seed"],
    }
    if args.empty:
        out["E0_empty_memory_parity"] = e0(
            b0, load(args.empty / f"{args.scenario}_B1_metrics.json")
        )
    oracle = [p for p in b0.get("probes", []) if p["name"] == "oracle"]
    if oracle:
        out["E1_oracle_em"] = {
            "em": oracle[0]["aggregate"]["em"],
            "pass": oracle[0]["aggregate"]["em"] >= 0.8,
        }
    out["E2_retrieval_only"] = {
        "em": em,
        "p_at_1": retrieval["p_at_1"],
        "gap": em - retrieval["p_at_1"],
        "pass": abs(em - retrieval["p_at_1"]) <= 0.05,
    }
    lift = retrieval["completion_lift"]
    out["E3_hopfield_ablation"] = {**lift, "pass": lift["lift"] >= 0}
    path = write_json(args.dir / f"{args.scenario}_probes.json", out)
    print(json.dumps(out, indent=2))
    print(f"wrote {path}")


if __name__ == "__main__":
    main()
