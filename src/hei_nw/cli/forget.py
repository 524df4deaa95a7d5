"""``python -m hei_nw.cli.forget``: the forgetting experiment -> ``reports/forget/summary.json``."""

from __future__ import annotations

import logging
import shlex
import sys
from collections.abc import Sequence
from pathlib import Path

from hei_nw.cli.flags import add_config_flags, load_model_or_fail, memory_config, pop_memory_args
from hei_nw.datasets.edits import EditDataError, load_edit_split
from hei_nw.eval.forget import forget_experiment
from hei_nw.eval.harness import package_versions
from hei_nw.models.sources import DEFAULT_MODEL
from hei_nw.utils.cli import OneLineErrorParser, fail, writable_dir_or_fail
from hei_nw.utils.io import write_json
from hei_nw.utils.seed import set_global_seed

PROG = "python -m hei_nw.cli.forget"


def main(argv: Sequence[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    p = OneLineErrorParser(prog=PROG, description=__doc__)
    p.add_argument("--data", required=True, help="CounterFact JSON (EasyEdit layout)")
    p.add_argument("--edits", type=int, default=100)
    p.add_argument("--forget", type=int, default=10, help="facts forgotten after consolidation")
    p.add_argument("--seed", type=int, default=7)
    p.add_argument("--model", default=DEFAULT_MODEL)
    p.add_argument("--out", default="reports/forget/summary.json")
    add_config_flags(p, sections=("consolidation", "gate", "recall"))
    args = vars(p.parse_args(argv))
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")
    overrides = pop_memory_args(args)
    overrides.setdefault("recall.scope", "scope")
    config = memory_config(PROG, overrides)
    if not 0 < args["forget"] < args["edits"]:
        fail(PROG, f"--forget must be between 1 and --edits - 1, got {args['forget']}")
    try:
        cases = load_edit_split(args["data"], "counterfact", args["edits"], "test")
    except EditDataError as exc:
        fail(PROG, f"--data: {exc}")
    writable_dir_or_fail(PROG, "--out", Path(args["out"]).parent)
    set_global_seed(args["seed"])
    pipe = load_model_or_fail(PROG, args["model"], dtype="float32")
    result = forget_experiment(pipe, args["data"], cases, config, args["forget"], args["seed"])
    result.update(
        command=f"{PROG} {shlex.join(argv)}",
        model_id=args["model"],
        seed=args["seed"],
        versions=package_versions(),
    )
    write_json(args["out"], result)
    sys.stdout.write(
        f"forgotten recall {result['forgotten_recall_rate']:.2f}; forgotten B3 rewrite "
        f"{result['forgotten_b3_rewrite']:.3f} (B0 {result['b0_rewrite']:.3f}); retained ratio "
        f"{result['retained_ratio']:.3f}; wrote {args['out']}\n"
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
