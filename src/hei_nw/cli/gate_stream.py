"""``python -m hei_nw.cli.gate_stream``: the write gate on a sparse chat stream.

The gate variant and tau are chosen on the ``--dev_seed`` streams, pooled (per variant
the largest tau keeping ``--min_dev_recall`` of their facts; the variant with the fewest
writes per 1k tokens), then run through ``EpisodicMemory.observe_many`` on the
``--seed`` stream:

    python -m hei_nw.cli.gate_stream --n_facts 100 --seed 7 --dev_seed 11 13 \\
        --out reports/gate/sparse_stream.json
"""

from __future__ import annotations

import argparse
import logging
import shlex
import sys
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from hei_nw.cli.flags import add_config_flags, load_model_or_fail, memory_config, pop_memory_args
from hei_nw.datasets.stream import sparse_stream
from hei_nw.eval.gate_stream import evaluate_gate_stream
from hei_nw.eval.harness import package_versions
from hei_nw.models.sources import DEFAULT_MODEL
from hei_nw.utils.cli import OneLineErrorParser, fail, writable_dir_or_fail
from hei_nw.utils.io import write_json

PROG = "python -m hei_nw.cli.gate_stream"


def main(argv: Sequence[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    p = OneLineErrorParser(
        prog=PROG, description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    p.add_argument("--n_facts", type=int, default=100, help="facts per stream")
    p.add_argument("--chatter_per_fact", type=int, default=30)
    p.add_argument("--seed", type=int, default=7, help="the reported (test) stream")
    p.add_argument(
        "--dev_seed",
        type=int,
        nargs="+",
        default=[11, 13],
        help="the streams the variant and tau are chosen on (pooled)",
    )
    p.add_argument("--min_dev_recall", type=float, default=0.98)
    p.add_argument(
        "--tau_grid",
        type=float,
        nargs=3,
        default=[0.5, 2.0, 0.01],
        metavar=("START", "STOP", "STEP"),
    )
    p.add_argument("--model", default=DEFAULT_MODEL)
    p.add_argument("--out", default="reports/gate/sparse_stream.json")
    add_config_flags(p, sections=("gate", "keyer"))
    args = vars(p.parse_args(argv))
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")
    config = memory_config(PROG, pop_memory_args(args))
    if args["n_facts"] < 1 or args["chatter_per_fact"] < 1:
        fail(PROG, "--n_facts and --chatter_per_fact must be positive integers")
    if args["seed"] in args["dev_seed"]:
        fail(PROG, "--seed must not be one of --dev_seed (tau is chosen on the dev streams)")
    if len(set(args["dev_seed"])) != len(args["dev_seed"]):
        fail(PROG, f"--dev_seed: give distinct seeds, got {args['dev_seed']}")
    if not 0 < args["min_dev_recall"] <= 1:
        fail(PROG, f"--min_dev_recall must lie in (0, 1], got {args['min_dev_recall']}")
    start, stop, step = args["tau_grid"]
    if not (np.isfinite([start, stop, step]).all() and step > 0 and stop > start):
        fail(PROG, "--tau_grid: give START < STOP and STEP > 0, all finite")
    out = Path(args["out"])
    if out.is_dir():
        fail(PROG, f"--out: {out} is a folder; give a .json file path")
    writable_dir_or_fail(PROG, "--out", out.parent)
    pipe = load_model_or_fail(PROG, args["model"], dtype="float32")
    stream = {"n_facts": args["n_facts"], "chatter_per_fact": args["chatter_per_fact"]}
    dev = [sparse_stream(seed=seed, **stream) for seed in args["dev_seed"]]
    test = sparse_stream(seed=args["seed"], **stream)
    taus = np.round(np.arange(start, stop + step / 2, step), 6).tolist()
    result = evaluate_gate_stream(pipe, config, dev, test, taus, args["min_dev_recall"])
    report = {
        "command": f"{PROG} {shlex.join(argv)}",
        "model_id": args["model"],
        "dtype": str(pipe.model.dtype),
        "seed": args["seed"],
        "dev_seeds": args["dev_seed"],
        **stream,
        **result,
        "versions": package_versions(),
    }
    write_json(out, report)
    t = result["test"]
    sys.stdout.write(
        f"{result['chosen_variant']}, tau {result['tau']:.2f} (dev): test writes/1k tokens {t['writes_per_1k_tokens']:.2f}, "
        f"recall {t['recall']:.3f}, precision {t['precision']:.3f}; wrote {out}\n"
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
