"""Paired-bootstrap CI of a metric between two harness runs on the same items.

    python scripts/compute_lift_ci.py --a reports/m2/A_B0_metrics.json \
        --b reports/m2/A_B1_metrics.json --metric em --n_boot 2000

Rows are paired by item id (both runs must share scenario, n and seed). Prints one JSON
object; ``--out`` also writes it.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

from hei_nw.metrics.stats import paired_bootstrap
from hei_nw.utils.io import write_json


def rows_by_id(path: Path, section: str) -> dict[str, dict[str, Any]]:
    try:
        data = json.loads(path.read_text())
    except (OSError, json.JSONDecodeError) as exc:
        sys.exit(f"compute_lift_ci: cannot read {path} ({exc}); pass a *_metrics.json file")
    if section == "main":
        rows = data["main"]["rows"]
    else:
        found = [
            s for s in data.get("baselines", []) + data.get("probes", []) if s["name"] == section
        ]
        if not found:
            sys.exit(f"compute_lift_ci: {path} has no section {section!r}")
        rows = found[0]["rows"]
    return {r["id"]: r for r in rows}


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--a", required=True, type=Path, help="baseline metrics JSON (e.g. B0)")
    parser.add_argument("--b", required=True, type=Path, help="compared metrics JSON (e.g. B1)")
    parser.add_argument("--metric", default="em", choices=["em", "f1"], help="per-item metric")
    parser.add_argument(
        "--n_boot", type=int, default=2000, help="bootstrap resamples (default 2000)"
    )
    parser.add_argument("--seed", type=int, default=0, help="bootstrap RNG seed")
    parser.add_argument(
        "--section-a", default="main", help="section of --a (main or a baseline/probe name)"
    )
    parser.add_argument("--section-b", default="main", help="section of --b")
    parser.add_argument("--out", type=Path, default=None, help="also write the result here")
    args = parser.parse_args()
    a, b = rows_by_id(args.a, args.section_a), rows_by_id(args.b, args.section_b)
    shared = sorted(set(a) & set(b))
    if not shared:
        sys.exit(
            "compute_lift_ci: the two runs share no item ids; use the same scenario, n and seed"
        )
    ci = paired_bootstrap(
        [a[i][args.metric] for i in shared],
        [b[i][args.metric] for i in shared],
        args.n_boot,
        args.seed,
    )
    result = {"a": str(args.a), "b": str(args.b), "metric": args.metric, **ci}
    if args.out:
        write_json(args.out, result)
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
