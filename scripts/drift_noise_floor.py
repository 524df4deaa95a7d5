"""What the drift guard's 1% means for this model: changes from updates that teach nothing.

    python scripts/drift_noise_floor.py --adapter.path artifacts/m4/lora \
        --out reports/consolidation/drift_noise_floor.json

Every condition is scored like the guard (``hei_nw.eval.drift.measure``): the share of the
drift suite's greedy answers that differ from the float32 base model's own, split by the
base answer's margin. Conditions:

* ``adapter``: the trained adapter, merged (what the guard reports for that run);
* ``random_like_adapter:SEED``: the base weights plus, in every module the adapter
  touches, a random update of the adapter's rank and of its Frobenius norm (the same
  amount of change, in directions that teach nothing);
* ``bfloat16``: the base weights cast to bfloat16 (inference precision alone, no update).

If a random update of the trained size moves as many answers as training does, the
drift is a property of the model's near-tied answers, not of what was learned; the
bfloat16 row is the floor below which no guard on this model can measure. The adapter
comes from ``bash scripts/run_m4_replay.sh`` (artifacts are not committed).
"""

from __future__ import annotations

import argparse
import json
import logging
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np

from hei_nw.eval.drift import (
    DriftSuiteError,
    build_suite,
    measure,
    perplexity,
    suite_questions,
)
from hei_nw.eval.harness import package_versions
from hei_nw.models.base import ModelLoadError, load_base
from hei_nw.models.lora_weights import adapter_deltas, adapter_dirs, add_random_like, merged
from hei_nw.models.sources import DEFAULT_MODEL
from hei_nw.utils.cli import OneLineErrorParser, fail, writable_dir_or_fail
from hei_nw.utils.io import write_json

PROG = "scripts/drift_noise_floor.py"
logger = logging.getLogger(PROG)
KEEP = (
    "drift_changed_fraction",
    "drift_changed",
    "tf_changed_fraction",
    "by_base_margin",
    "confident_changed_fraction",
    "perplexity_after",
)


def parse(argv: list[str]) -> argparse.Namespace:
    p = OneLineErrorParser(
        prog=PROG, description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    p.add_argument("--adapter.path", dest="adapter_path", default="artifacts/m4/lora")
    p.add_argument("--model", default=DEFAULT_MODEL)
    p.add_argument("--random-seeds", type=int, nargs="+", default=[0, 1])
    p.add_argument("--drift.counterfact", dest="counterfact", default=None)
    p.add_argument("--batch-size", type=int, default=64)
    p.add_argument("--out", type=Path, default=Path("reports/consolidation/drift_noise_floor.json"))
    args = p.parse_args(argv)
    if args.batch_size < 1:
        fail(PROG, f"--batch-size must be >= 1, got {args.batch_size}")
    writable_dir_or_fail(PROG, "--out", args.out.parent)
    return args


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    args = parse(argv)
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")
    try:
        adapter, _ = adapter_dirs(args.adapter_path)
        deltas = adapter_deltas(args.adapter_path)
        rank = int(json.loads((adapter / "adapter_config.json").read_text())["r"])
        _, _, base = load_base(args.model, "float32")
    except ModelLoadError as exc:
        fail(PROG, f"--adapter.path/--model: {exc}")
    try:
        suite = build_suite(base, suite_questions(args.counterfact), args.batch_size)
    except DriftSuiteError as exc:
        fail(PROG, f"drift suite: {exc}")
    t0 = time.perf_counter()
    conditions: dict[str, Any] = {}

    def score(name: str, pipe: Any) -> None:
        result = measure(pipe, suite, None, batch_size=args.batch_size)
        conditions[name] = {k: result.get(k) for k in KEEP}
        logger.info("%s: %.1f%% of answers changed", name, 100 * result["drift_changed_fraction"])

    _, _, copy = load_base(args.model, "float32")
    score("adapter", merged(copy, args.adapter_path, "float32", "cpu"))
    weights = dict(base.model.named_parameters())
    rel = [float(d.norm() / weights[n].detach().norm()) for n, d in deltas.items() if n in weights]
    for seed in args.random_seeds:
        _, model, pipe = load_base(args.model, "float32")
        add_random_like(model, deltas, rank, seed)
        score(f"random_like_adapter:{seed}", pipe)
    _, _, half = load_base(args.model, "bfloat16")
    score("bfloat16", half)
    norms = np.array(rel or [float("nan")])
    write_json(
        args.out,
        {
            "command": " ".join(["python", PROG, *argv]),
            "model_id": args.model,
            "dtype": "float32 (base answers and every condition but bfloat16)",
            "batch_size": args.batch_size,
            "adapter": {
                "path": str(adapter),
                "rank": rank,
                "modules": len(deltas),
                "relative_norm_mean": float(norms.mean()),
                "relative_norm_max": float(norms.max()),
            },
            "suite_size": len(suite),
            "perplexity_base": perplexity(base),
            "conditions": conditions,
            "wall_s": round(time.perf_counter() - t0, 1),
            "versions": package_versions(),
        },
    )
    logger.info("wrote %s", args.out)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
