"""``python -m hei_nw.cli.retrieval``: retrieval on full, partial and noisy cues.

HEI-NW (Hopfield on and off) against MiniLM, BM25 and hybrid RRF, one JSON and one
Markdown table per scenario under ``--outdir``:

    python -m hei_nw.cli.retrieval --scenario A B C D --n 500 --seed 7 --outdir reports/retrieval
"""

from __future__ import annotations

import argparse
import logging
import shlex
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from hei_nw.cli.flags import add_config_flags, load_model_or_fail, memory_config, pop_memory_args
from hei_nw.datasets import SCENARIOS
from hei_nw.eval.cue_sets import CUE_SETS
from hei_nw.eval.harness import package_versions
from hei_nw.eval.retrieval import evaluate_retrieval
from hei_nw.models.sources import DEFAULT_MODEL
from hei_nw.utils.cli import OneLineErrorParser, fail, writable_dir_or_fail
from hei_nw.utils.io import write_json, write_markdown

PROG = "python -m hei_nw.cli.retrieval"
SCHEMA = "hei_nw.retrieval/1"


def markdown(report: dict[str, Any]) -> str:
    """One table per report: P@1 of every system on every cue set, with the two CIs."""
    systems = list(next(iter(report["cue_sets"].values()))["p_at_1_by_system"])
    head = "| cue set | " + " | ".join(systems) + " | Hopfield lift [95% CI] | HEI-NW − best |"
    lines = [
        f"# Retrieval P@1, scenario {report['scenario']} (n={report['n']}, seed "
        f"{report['seed']}, Hopfield {'on' if report['hopfield_enabled'] else 'off'})",
        "",
        f"`{report['command']}` · model `{report['model_id']}` · stored {report['gate']['stored']}",
        "",
        head,
        "|" + " --- |" * (len(systems) + 3),
    ]
    for name, row in report["cue_sets"].items():
        lift, gap = row["completion_lift"], row["hei_nw_minus_best"]
        cells = " | ".join(f"{row['p_at_1_by_system'][s]:.3f}" for s in systems)
        lines.append(
            f"| {name} | {cells} | {lift['diff']:+.3f} [{lift['ci_low']:+.3f}, "
            f"{lift['ci_high']:+.3f}] | {gap['diff']:+.3f} vs {row['best_baseline']} "
            f"[{gap['ci_low']:+.3f}, {gap['ci_high']:+.3f}] |"
        )
    return "\n".join(lines) + "\n"


def main(argv: Sequence[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    p = OneLineErrorParser(
        prog=PROG, description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    p.add_argument("--scenario", nargs="+", default=["A"], choices=sorted(SCENARIOS))
    p.add_argument("--n", type=int, default=500, help="query items per scenario")
    p.add_argument("--seed", type=int, default=7)
    p.add_argument("--cue_sets", nargs="+", default=list(CUE_SETS), choices=list(CUE_SETS))
    p.add_argument("--n_boot", type=int, default=2000)
    p.add_argument(
        "--baseline_name_rerank",
        type=float,
        nargs="*",
        default=[],
        metavar="B",
        help="also score each baseline with its shortlist re-ranked by rank - B x shared "
        "names, per B (inf: names first); the best baseline is taken over all of them",
    )
    p.add_argument("--model", default=DEFAULT_MODEL)
    p.add_argument("--outdir", default="reports/retrieval")
    add_config_flags(p, sections=("gate", "keyer", "store", "hopfield", "recall"))
    args = vars(p.parse_args(argv))
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")
    config = memory_config(PROG, pop_memory_args(args))
    if args["n"] < 1 or args["n_boot"] < 1:
        fail(PROG, "--n and --n_boot must be positive integers")
    if any(not b > 0 for b in args["baseline_name_rerank"]):  # also rejects nan
        fail(
            PROG,
            f"--baseline_name_rerank: give values > 0 (inf allowed), got {args['baseline_name_rerank']}",
        )
    outdir = writable_dir_or_fail(PROG, "--outdir", Path(args["outdir"]))
    pipe = load_model_or_fail(PROG, args["model"], dtype="float32")
    for scenario in args["scenario"]:
        report = evaluate_retrieval(
            pipe,
            scenario,
            args["n"],
            args["seed"],
            config,
            args["cue_sets"],
            args["n_boot"],
            args["baseline_name_rerank"],
        )
        report = {
            "schema": SCHEMA,
            "command": f"{PROG} {shlex.join(argv)}",
            "model_id": args["model"],
            "dtype": str(pipe.model.dtype),
            "device": str(pipe.device),
            **report,
            "config": config.model_dump(mode="json"),
            "versions": package_versions(),
        }
        write_json(outdir / f"{scenario}.json", report)
        write_markdown(outdir / f"{scenario}.md", markdown(report))
        sys.stdout.write(f"{scenario}: wrote {outdir / scenario}.json\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
