"""``python -m hei_nw.cli.edit_consolidate``: consolidate N edits into a LoRA adapter.

Writes ``<artifacts>/adapter`` (peft layout) for the harness's B2/B3 modes and
``<outdir>/{dataset}_N{N}_consolidation.json`` (throughput, memory-off retention, drift
guard). See :mod:`hei_nw.eval.edit_replay`. Exits 3 after writing when the drift guard fails.
"""

from __future__ import annotations

import argparse
import logging
import shlex
import sys
from collections.abc import Sequence
from pathlib import Path

from hei_nw.cli.flags import add_config_flags, load_model_or_fail, memory_config, pop_memory_args
from hei_nw.datasets.edits import EDIT_SCENARIOS, EditDataError, load_edit_split
from hei_nw.eval.drift import EXIT_DRIFT, DriftSuiteError
from hei_nw.eval.edit_replay import consolidate_edits
from hei_nw.models.sources import DEFAULT_MODEL
from hei_nw.utils.cli import OneLineErrorParser, fail, writable_dir_or_fail
from hei_nw.utils.io import write_json
from hei_nw.utils.seed import set_global_seed

PROG = "python -m hei_nw.cli.edit_consolidate"
logger = logging.getLogger(PROG)


def build_parser() -> argparse.ArgumentParser:
    p = OneLineErrorParser(
        prog=PROG, description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    p.add_argument("--scenario", required=True, choices=list(EDIT_SCENARIOS), help="edit layout")
    p.add_argument("--data", required=True, help="EasyEdit JSON/JSONL file")
    p.add_argument("--edits", type=int, default=100, help="facts consolidated together")
    p.add_argument("--split", default="test", choices=["test", "dev"])
    p.add_argument("--seed", type=int, default=7)
    p.add_argument("--artifacts", default=None, help="default artifacts/edits/{scenario}_N{edits}")
    p.add_argument("--outdir", default="reports/edits", help="summary JSON folder")
    p.add_argument("--model", default=DEFAULT_MODEL)
    p.add_argument("--device", default="auto")
    p.add_argument("--dtype", default="float32")
    p.add_argument("--no-drift", dest="drift", action="store_false", help="skip the drift guard")
    add_config_flags(p)
    return p


def main(argv: Sequence[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    args = vars(build_parser().parse_args(argv))
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")
    overrides = pop_memory_args(args)
    overrides.setdefault("recall.scope", "scope")
    config = memory_config(PROG, overrides)
    if args["edits"] <= 0:
        fail(PROG, f"--edits must be positive, got {args['edits']}")
    artifacts = args["artifacts"] or f"artifacts/edits/{args['scenario']}_N{args['edits']}"
    try:
        cases = load_edit_split(args["data"], args["scenario"], args["edits"], args["split"])
    except EditDataError as exc:
        fail(PROG, f"--data: {exc}")
    for folder, flag in ((args["outdir"], "--outdir"), (artifacts, "--artifacts")):
        writable_dir_or_fail(PROG, flag, folder)
    set_global_seed(args["seed"])
    pipe = load_model_or_fail(PROG, args["model"], dtype=args["dtype"], device=args["device"])
    try:
        summary = consolidate_edits(
            pipe, args["scenario"], args["data"], cases, config, artifacts, args["drift"]
        )
    except DriftSuiteError as exc:
        fail(PROG, f"drift suite: {exc}")
    except ValueError as exc:  # a consolidation setting the method cannot run with
        fail(PROG, f"consolidation: {exc}")
    summary.update(
        command=f"{PROG} {shlex.join(argv)}",
        seed=args["seed"],
        split=args["split"],
        model_id=args["model"],
    )
    suffix = "" if args["split"] == "test" else "_dev"
    path = write_json(
        Path(args["outdir"]) / f"{args['scenario']}_N{args['edits']}{suffix}_consolidation.json",
        summary,
    )
    guard = summary["drift_guard"]
    logger.info("adapter in %s/adapter; summary %s", artifacts, path)
    if not guard.get("skipped") and not guard["passed"]:
        logger.error(
            "drift guard FAILED: %.2f%% of %d answers changed",
            100 * guard["drift_changed_fraction"],
            guard["drift_suite_size"],
        )
        return EXIT_DRIFT
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
