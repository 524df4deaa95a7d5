"""``python -m hei_nw.eval.replay_runner`` / ``hei-nw-replay``: consolidation end to end.

B0 -> B1 (gated writes) -> served queries -> label-free distillation -> B2, B3 -> drift
guard (see :mod:`hei_nw.eval.replay`). Exits 3, after writing every report, when more
than ``--drift.tolerance`` of the drift suite's answers changed.
"""

from __future__ import annotations

import argparse
import logging
import shlex
import sys
from collections.abc import Sequence
from datetime import datetime, timezone

from pydantic import ValidationError

from hei_nw.cli.flags import add_config_flags, load_model_or_fail, pop_memory_args
from hei_nw.eval.config import describe_validation_error
from hei_nw.eval.drift import EXIT_DRIFT, DriftSuiteError
from hei_nw.eval.replay import REPLAY_SCENARIOS, ReplayConfig, run_replay
from hei_nw.memory.config import MemoryConfig
from hei_nw.models.base import GenerationPipeline
from hei_nw.models.sources import DEFAULT_MODEL
from hei_nw.utils.cli import OneLineErrorParser, fail, writable_dir_or_fail
from hei_nw.utils.seed import set_global_seed

PROG = "python -m hei_nw.eval.replay_runner"
logger = logging.getLogger("hei_nw.eval.replay_runner")

EPILOG = """examples:
  python -m hei_nw.eval.replay_runner --scenario A
  python -m hei_nw.eval.replay_runner --scenario B --n 500 --outdir reports/m4-run2
  python -m hei_nw.eval.replay_runner --scenario A --consolidation.epochs 4 --consolidation.lr 5e-4
"""


def build_parser() -> argparse.ArgumentParser:
    p = OneLineErrorParser(
        prog=PROG,
        description="Write with the gate (B1), serve queries, distil into LoRA, evaluate B2/B3 and drift.",
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    run = p.add_argument_group("run")
    run.add_argument(
        "--scenario", default="A", choices=REPLAY_SCENARIOS, help="scenario (default A)"
    )
    run.add_argument("--n", type=int, default=64, help="target episodes (default 64)")
    run.add_argument("--seed", type=int, default=7, help="generator and training seed (default 7)")
    run.add_argument("--outdir", default="reports/m4-run2", help="report folder")
    run.add_argument("--artifacts", default="artifacts/m4/lora", help="adapter output folder")
    run.add_argument("--policy", default="ca2", choices=["ca2", "shuffled", "shuffled-pass"])
    run.add_argument("--cycles", type=int, default=None, help="cycles (default: ceil(epochs))")
    run.add_argument("--skip-b2", action="store_true", help="skip the B2 evaluation")
    model = p.add_argument_group("model and drift guard")
    model.add_argument(
        "--model", default=DEFAULT_MODEL, help=f"base model (default {DEFAULT_MODEL})"
    )
    model.add_argument("--device", default="auto", help="auto, cpu, cuda")
    model.add_argument("--dtype", default="float32", help="float32 (default), bfloat16")
    model.add_argument(
        "--drift.tolerance",
        dest="drift_tolerance",
        type=float,
        default=0.01,
        help="largest share of changed answers that passes (default 0.01)",
    )
    model.add_argument(
        "--drift.counterfact",
        dest="drift_counterfact",
        default=None,
        help="CounterFact file whose locality prompts join the drift suite",
    )
    model.add_argument(
        "--no-drift", dest="drift", action="store_false", help="skip the drift guard"
    )
    add_config_flags(p)
    p.add_argument("--log-level", default="INFO")
    return p


def setup(argv: Sequence[str]) -> tuple[ReplayConfig, GenerationPipeline]:
    args = vars(build_parser().parse_args(argv))
    logging.basicConfig(
        level=args.pop("log_level").upper(), format="%(levelname)s %(name)s: %(message)s"
    )
    overrides = pop_memory_args(args)
    try:
        config = ReplayConfig(**args, memory=MemoryConfig().with_overrides(overrides))
    except ValidationError as exc:
        fail(PROG, describe_validation_error(exc))
    except ValueError as exc:
        fail(PROG, str(exc))
    for folder, flag in ((config.outdir, "--outdir"), (config.artifacts, "--artifacts")):
        writable_dir_or_fail(PROG, flag, folder)
    set_global_seed(config.seed)
    pipe = load_model_or_fail(PROG, config.model, dtype=config.dtype, device=config.device)
    return config, pipe


def main(argv: Sequence[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    started = datetime.now(timezone.utc).isoformat(timespec="seconds")
    config, pipe = setup(argv)
    try:
        summary = run_replay(config, pipe, f"{PROG} {shlex.join(argv)}", started)
    except DriftSuiteError as exc:
        fail(PROG, f"drift suite: {exc}")
    drift = summary["drift_guard"]
    logger.info(
        "B0 %.3f  B1 %.3f  B3 %.3f (B3/B1 %s); reports in %s",
        summary["em"]["B0"],
        summary["em"]["B1"],
        summary["em"]["B3"],
        f"{summary['b3_over_b1']:.2f}" if summary["b3_over_b1"] is not None else "n/a",
        config.outdir,
    )
    if not drift.get("skipped") and not drift["passed"]:
        logger.error(
            "drift guard FAILED: %d of %d answers changed (%.2f%%, tolerance %.1f%%)",
            drift["drift_changed"],
            drift["drift_suite_size"],
            100 * drift["drift_changed_fraction"],
            100 * drift["tolerance"],
        )
        return EXIT_DRIFT
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
