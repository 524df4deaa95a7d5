"""``python -m hei_nw.cli.interference``: replay policies over waves (``scripts/run_interference.sh``).

Writes ``<out>/runs.json`` (every run's retention matrix) and ``<out>/retention.json``
(means, spreads, paired CIs, ablations); ``scripts/plot_replay_retention.py`` draws
``retention.png`` from it.
"""

from __future__ import annotations

import argparse
import logging
import shlex
import sys
import time
from collections.abc import Sequence
from pathlib import Path

from pydantic import ValidationError

from hei_nw.cli.flags import add_config_flags, load_model_or_fail, pop_memory_args
from hei_nw.eval.config import describe_validation_error
from hei_nw.eval.harness import package_versions
from hei_nw.eval.interference import ABLATIONS, WAVE_POLICIES, WavesConfig, run_experiment
from hei_nw.eval.interference_report import summarise
from hei_nw.memory.config import MemoryConfig
from hei_nw.models.sources import DEFAULT_MODEL
from hei_nw.utils.cli import OneLineErrorParser, fail, writable_dir_or_fail
from hei_nw.utils.io import write_json

PROG = "python -m hei_nw.cli.interference"
logger = logging.getLogger(PROG)


def build_parser() -> argparse.ArgumentParser:
    p = OneLineErrorParser(
        prog=PROG, description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    p.add_argument("--scenario", default="A", choices=["A", "B", "C", "D"])
    p.add_argument("--seeds", type=int, nargs="+", default=[1, 2, 3, 4, 5])
    p.add_argument(
        "--policies", nargs="+", default=list(WAVE_POLICIES), choices=list(WAVE_POLICIES)
    )
    p.add_argument("--ablations", nargs="*", default=[], choices=list(ABLATIONS))
    p.add_argument("--waves", type=int, default=5)
    p.add_argument("--per-wave", type=int, default=20)
    p.add_argument("--budget", type=int, default=40, help="trace replays per sub-cycle")
    p.add_argument("--sub-cycles", type=int, default=8, help="sub-cycles per wave")
    p.add_argument(
        "--no-drift", action="store_true", help="skip the drift guard after the last wave"
    )
    p.add_argument("--model", default=DEFAULT_MODEL)
    p.add_argument("--out", default=None, help="default reports/interference/{scenario}")
    add_config_flags(p, sections=("consolidation", "gate", "recall"))
    return p


def main(argv: Sequence[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    args = vars(build_parser().parse_args(argv))
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")
    overrides = pop_memory_args(args)
    out = Path(args.pop("out") or f"reports/interference/{args['scenario']}")
    try:
        config = WavesConfig(
            scenario=args["scenario"],
            waves=args["waves"],
            per_wave=args["per_wave"],
            budget=args["budget"],
            sub_cycles=args["sub_cycles"],
            memory=MemoryConfig().with_overrides(overrides),
        )
    except ValidationError as exc:
        fail(PROG, describe_validation_error(exc))
    except ValueError as exc:
        fail(PROG, str(exc))
    writable_dir_or_fail(PROG, "--out", out)
    pipe = load_model_or_fail(PROG, args["model"], dtype="float32")
    t0 = time.perf_counter()
    result = run_experiment(
        config,
        pipe,
        args["seeds"],
        args["policies"],
        args["ablations"],
        None if args["no_drift"] else "ca2",
    )
    meta = {
        "command": f"{PROG} {shlex.join(argv)}",
        "model_id": args["model"],
        "dtype": "float32",
        "seeds": args["seeds"],
        "versions": package_versions(),
        "wall_s": time.perf_counter() - t0,
    }
    write_json(out / "runs.json", {**meta, **result})
    summary = summarise(result["runs"], config.model_dump(mode="json"))
    write_json(out / "retention.json", {**meta, **summary})
    logger.info("wrote %s/retention.json; CA2 - shuffled: %s", out, summary["ca2_minus_shuffled"])
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
