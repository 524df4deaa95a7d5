"""Retrieval-only health of edit recall: which relevance test lets which prompts through.

    python scripts/edit_retrieval.py --scenario counterfact \\
        --data ../shared/data/counterfact/counterfact-val.json --edits 1000 \\
        --out reports/edits/counterfact_N1000_retrieval.json

Writes the N edits through the gate once, then recalls every rewrite, rephrase and
locality prompt under five relevance tests: the scope guard alone (the harness default
for edit data), the guard with the label-free relevance floor on top, the floor alone,
name anchors read off the texts (``--recall.scope names``: no user-given subject; the
floor only for cues that name nothing), and none. For each: the share of prompts on which memory fired and P@1 (fired, and
the top trace is the case's own edit). No generation, so it runs in minutes where a
harness mode at N=1000 takes most of an hour; the case ids only score the result.
"""

from __future__ import annotations

import argparse
import shlex
import sys
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from hei_nw.cli.flags import load_model_or_fail
from hei_nw.datasets.edits import EDIT_SCENARIOS, EditDataError, edit_doc, load_edit_split
from hei_nw.eval.edit_scoring import QUERY_KINDS
from hei_nw.eval.edits import case_prompts, edit_memory, relevance_floor
from hei_nw.eval.harness import package_versions
from hei_nw.memory import MemoryConfig
from hei_nw.models.sources import DEFAULT_MODEL
from hei_nw.utils.cli import OneLineErrorParser, fail, writable_dir_or_fail
from hei_nw.utils.io import write_json
from hei_nw.utils.seed import set_global_seed

PROG = "scripts/edit_retrieval.py"

# name -> (scope slot, apply the relevance floor)
CONDITIONS: dict[str, tuple[str | None, bool]] = {
    "scope_guard": ("scope", False),
    "scope_guard+floor": ("scope", True),
    "floor": (None, True),
    "names": ("names", True),
    "none": (None, False),
}


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = OneLineErrorParser(
        prog=PROG, description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--scenario", choices=sorted(EDIT_SCENARIOS), required=True)
    parser.add_argument("--data", type=Path, required=True, help="EasyEdit JSON/JSONL file")
    parser.add_argument("--edits", type=int, default=100, help="edits live at once (N)")
    parser.add_argument("--split", default="test", choices=["test", "dev"])
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--model", default=DEFAULT_MODEL)
    parser.add_argument("--dtype", default="float32", choices=["float32", "bfloat16"])
    parser.add_argument("--out", type=Path, required=True, help="JSON report path")
    args = parser.parse_args(argv)
    if args.edits < 1:
        parser.error(f"--edits must be at least 1, got {args.edits}")
    return args


def condition_scores(
    mem: Any, cases: list[Any], dataset: str, scope: str | None, floor: bool
) -> dict[str, Any]:
    """Fired rate and P@1 per query kind under one relevance test."""
    mem.recaller.scope_slot = scope
    threshold = relevance_floor(mem) if floor else None
    mem.recaller.min_score = threshold
    raw = case_prompts(cases)
    out: dict[str, Any] = {"scope_slot": scope, "relevance_floor": threshold}
    for kind in QUERY_KINDS:
        recalls = mem.recall_many(raw[kind])
        fired = [bool(r.memory_text) for r in recalls]
        own = [
            f and r.hits[0].trace["trace_id"].startswith(edit_doc(dataset, c) + "#")
            for f, r, c in zip(fired, recalls, cases, strict=True)
        ]
        out[kind] = {"fired": sum(fired) / len(cases), "p_at_1": sum(own) / len(cases)}
    return out


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    try:
        cases = load_edit_split(args.data, args.scenario, args.edits, args.split)
    except (EditDataError, OSError) as exc:
        fail(PROG, str(exc))
    writable_dir_or_fail(PROG, "--out", args.out.parent)
    set_global_seed(args.seed)
    started = datetime.now(UTC).isoformat(timespec="seconds")
    t0 = time.perf_counter()
    pipe = load_model_or_fail(PROG, args.model, args.dtype)
    mem = edit_memory(pipe, args.scenario, cases, MemoryConfig())
    write_s = time.perf_counter() - t0
    result = {
        "command": f"python {PROG} {shlex.join(sys.argv[1:] if argv is None else argv)}",
        "dataset": args.scenario,
        "data": str(args.data),
        "n": len(cases),
        "split": args.split,
        "seed": args.seed,
        "model_id": pipe.model_id,
        "dtype": args.dtype,
        "written_by_gate": len(mem),
        "conditions": {
            name: condition_scores(mem, cases, args.scenario, scope, floor)
            for name, (scope, floor) in CONDITIONS.items()
        },
        "write_s": write_s,
        "started_utc": started,
        "wall_time_s": time.perf_counter() - t0,
        "versions": package_versions(),
    }
    write_json(args.out, result)
    for name, res in result["conditions"].items():
        cells = ", ".join(
            f"{k} fired {res[k]['fired']:.3f} P@1 {res[k]['p_at_1']:.3f}" for k in QUERY_KINDS
        )
        sys.stdout.write(f"{name}: {cells}\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
