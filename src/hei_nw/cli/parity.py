"""``python -m hei_nw.cli.parity`` / ``hei-nw-parity``: the drift guard on saved weights.

Compares the base model with base + a saved LoRA adapter (merged) on the drift suite
(>= 1000 prompts: the packaged drift questions, plus CounterFact locality prompts with
``--drift.counterfact``). Writes the JSON, then exits 3 when more than ``--tolerance``
of the answers changed.
"""

from __future__ import annotations

import argparse
import logging
import sys
from collections.abc import Sequence
from pathlib import Path

from hei_nw.eval.drift import (
    EXIT_DRIFT,
    TOLERANCE,
    DriftSuiteError,
    build_suite,
    measure,
    suite_questions,
)
from hei_nw.eval.harness import package_versions
from hei_nw.models.base import ModelLoadError, load_base
from hei_nw.models.lora_weights import merged
from hei_nw.models.sources import DEFAULT_MODEL
from hei_nw.utils.cli import OneLineErrorParser, fail, writable_dir_or_fail
from hei_nw.utils.io import write_json

PROG = "python -m hei_nw.cli.parity"
logger = logging.getLogger(PROG)


def build_parser() -> argparse.ArgumentParser:
    p = OneLineErrorParser(prog=PROG, description="Drift guard: base vs consolidated model.")
    p.add_argument("--adapter.path", dest="adapter_path", default="artifacts/m4/lora")
    p.add_argument("--model", default=DEFAULT_MODEL, help=f"base model (default {DEFAULT_MODEL})")
    p.add_argument("--device", default="auto")
    p.add_argument("--dtype", default="float32")
    p.add_argument(
        "--tolerance", type=float, default=TOLERANCE, help="largest changed share that passes"
    )
    p.add_argument(
        "--drift.counterfact",
        dest="counterfact",
        default=None,
        help="add CounterFact locality prompts",
    )
    p.add_argument("--batch-size", type=int, default=64)
    p.add_argument("--out", default="reports/m4-run2/parity.json", help="JSON report path")
    return p


def main(argv: Sequence[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    args = build_parser().parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")
    if not 0 <= args.tolerance < 1:
        fail(PROG, f"--tolerance must be a share in [0, 1), got {args.tolerance}")
    writable_dir_or_fail(PROG, "--out", Path(args.out).parent)
    try:
        _, _, base = load_base(args.model, args.dtype, device=args.device)
        _, _, copy = load_base(args.model, args.dtype, device=args.device)
        after = merged(copy, args.adapter_path, args.dtype, args.device)
    except ModelLoadError as exc:
        fail(PROG, f"--adapter.path/--model: {exc}")
    try:
        suite = build_suite(base, suite_questions(args.counterfact), args.batch_size)
    except DriftSuiteError as exc:
        fail(PROG, f"drift suite: {exc}")
    result = measure(after, suite, base, args.tolerance, args.batch_size)
    result.update(
        command=" ".join([PROG, *argv]), versions=package_versions(), adapter=args.adapter_path
    )
    write_json(args.out, result)
    logger.info(
        "drift guard %s: %d of %d answers changed (%.2f%%); perplexity %.2f -> %.2f; %s",
        "passed" if result["passed"] else "FAILED",
        result["drift_changed"],
        result["drift_suite_size"],
        100 * result["drift_changed_fraction"],
        result["perplexity_before"],
        result["perplexity_after"],
        args.out,
    )
    return 0 if result["passed"] else EXIT_DRIFT


if __name__ == "__main__":
    raise SystemExit(main())
