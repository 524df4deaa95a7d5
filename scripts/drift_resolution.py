"""Can the drift guard see what it claims to? Base vs base, then base vs lightly perturbed.

    python scripts/drift_resolution.py --out reports/consolidation/drift_resolution.json

The guard compares the base model's answers on the drift suite (>= 1000 prompts) with a
changed model's. Two checks of its resolution: the base model against itself (the
measurement's own noise floor: batch composition, padding) must read 0, and a copy whose
MLP weights in layers 4-19 (the LoRA band) get Gaussian noise of ``eps`` x each tensor's std shows how
the reading grows with a small, known change.
"""

from __future__ import annotations

import argparse
import copy
import logging
import sys
import time
from pathlib import Path

import torch

from hei_nw.eval.drift import build_suite, measure, suite_questions
from hei_nw.eval.harness import package_versions
from hei_nw.models.base import GenerationPipeline, load_base
from hei_nw.models.sources import DEFAULT_MODEL
from hei_nw.utils.cli import OneLineErrorParser
from hei_nw.utils.io import write_json

PROG = "scripts/drift_resolution.py"
logger = logging.getLogger(PROG)


def perturbed(pipe: GenerationPipeline, eps: float, seed: int) -> GenerationPipeline:
    model = copy.deepcopy(pipe.model)
    gen = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for name, p in model.named_parameters():
            if ".mlp." in name and any(f"layers.{i}." in name for i in range(4, 20)):
                p.add_(torch.randn(p.shape, generator=gen) * p.std() * eps)
    return GenerationPipeline(pipe.tokenizer, model, f"{pipe.model_id}+noise{eps}")


def main(argv: list[str] | None = None) -> int:
    parser = OneLineErrorParser(
        prog=PROG, description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--eps", type=float, nargs="+", default=[1e-4, 1e-3, 1e-2])
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--batch-size", type=int, default=128)
    parser.add_argument("--model", default=DEFAULT_MODEL)
    parser.add_argument(
        "--out", type=Path, default=Path("reports/consolidation/drift_resolution.json")
    )
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")
    _, model, pipe = load_base(args.model, "float32")
    suite = build_suite(pipe, suite_questions(), args.batch_size)
    rows = []
    for eps in [0.0, *args.eps]:
        t0 = time.perf_counter()
        other = pipe if eps == 0 else perturbed(pipe, eps, args.seed)
        r = measure(other, suite, None, batch_size=args.batch_size)
        rows.append(
            {
                "eps": eps,
                "drift_changed_fraction": r["drift_changed_fraction"],
                "tf_changed_fraction": r["tf_changed_fraction"],
                "seconds": time.perf_counter() - t0,
            }
        )
        logger.info(
            "eps %g: greedy changed %.4f, teacher-forced changed %.4f",
            eps,
            rows[-1]["drift_changed_fraction"],
            rows[-1]["tf_changed_fraction"],
        )
    write_json(
        args.out,
        {
            "command": " ".join(["python", PROG, *(argv if argv is not None else sys.argv[1:])]),
            "model_id": args.model,
            "dtype": str(model.dtype),
            "drift_suite_size": len(suite),
            "batch_size": args.batch_size,
            "rows": rows,
            "versions": package_versions(),
        },
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
