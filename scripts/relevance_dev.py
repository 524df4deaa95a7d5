"""How often each relevance test fires, on the CounterFact dev split (never reported).

    python scripts/relevance_dev.py --edits 900 --dtype bfloat16 \
        --out reports/edits/relevance_dev.json

One memory holds the N dev edits (records ``TEST_POOL`` onward, outside every reported
N). Each rewrite, rephrase and locality prompt is recalled under three relevance tests:

* ``floor``: the best hit's key cosine against the label-free floor (``--recall.scope none``);
* ``names``: names read off the cue and the stored text must match (``--recall.scope
  names``; the floor only for cues that name nothing) -- no user-given subject;
* ``subject``: the user-given subject guard (``--recall.scope auto``).

Per kind it writes the share of prompts that recall anything (``fired``) and the share
that recall their own edit first (``own_first``). On rewrites and rephrases high is
right; on locality prompts every firing is a potential locality failure. This is where
the names test was designed (exact name match, clause breaks, digits inside names);
nothing here is tuned on the test split.
"""

from __future__ import annotations

import argparse
import logging
import time
from pathlib import Path
from typing import Any

from hei_nw.cli.flags import load_model_or_fail
from hei_nw.datasets.edits import TEST_POOL, EditDataError, edit_doc, load_edit_split
from hei_nw.eval.edits import case_prompts, edit_memory, relevance_floor
from hei_nw.eval.harness import package_versions
from hei_nw.memory import MemoryConfig
from hei_nw.memory.recall import NAMES, SCOPE_SLOT
from hei_nw.models.sources import DEFAULT_MODEL
from hei_nw.utils.cli import OneLineErrorParser, fail, writable_dir_or_fail
from hei_nw.utils.io import write_json

PROG = "scripts/relevance_dev.py"
logger = logging.getLogger(PROG)
TESTS = {"floor": None, "names": NAMES, "subject": SCOPE_SLOT}


def main(argv: list[str] | None = None) -> int:
    parser = OneLineErrorParser(
        prog=PROG, description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--data", default="../shared/data/counterfact/counterfact-val.json")
    parser.add_argument("--edits", type=int, default=900)
    parser.add_argument("--dtype", choices=["float32", "bfloat16"], default="float32")
    parser.add_argument("--model", default=DEFAULT_MODEL)
    parser.add_argument("--out", type=Path, default=Path("reports/edits/relevance_dev.json"))
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")
    writable_dir_or_fail(PROG, "--out", args.out.parent)
    try:
        cases = load_edit_split(args.data, "counterfact", args.edits, "dev")
    except EditDataError as exc:
        fail(PROG, f"--data: {exc}")
    pipe = load_model_or_fail(PROG, args.model, args.dtype)
    config = MemoryConfig().with_overrides({"gate.use_for_writes": False})
    t0 = time.perf_counter()
    mem = edit_memory(pipe, "counterfact", cases, config)
    prompts = case_prompts(cases)
    own = [edit_doc("counterfact", c) for c in cases]
    results: dict[str, Any] = {}
    for name, scope in TESTS.items():
        mem.recaller.scope_slot = scope
        mem.recaller.min_score = None
        floor = relevance_floor(mem) if scope in (None, NAMES) else None
        mem.recaller.min_score = floor
        row: dict[str, Any] = {"relevance_floor": floor}
        for kind, cues in prompts.items():
            recalls = mem.recall_many(cues)
            first = [r.hits[0].trace["tokens_span_ref"]["doc"] if r.hits else None for r in recalls]
            row[kind] = {
                "fired": sum(f is not None for f in first) / len(cues),
                "own_first": sum(f == o for f, o in zip(first, own, strict=True)) / len(cues),
            }
        results[name] = row
        logger.info(
            "%s: fired on rephrase %.3f, on locality %.3f",
            name,
            row["rephrase"]["fired"],
            row["locality"]["fired"],
        )
    write_json(
        args.out,
        {
            "command": f"python {PROG} --edits {args.edits} --dtype {args.dtype}",
            "model": args.model,
            "dtype": args.dtype,
            "split": f"dev: records {TEST_POOL}..{TEST_POOL + args.edits - 1} of {args.data}",
            "n": len(cases),
            "written": len(mem),
            "relevance": results,
            "seconds": time.perf_counter() - t0,
            "versions": package_versions(),
        },
    )
    logger.info("wrote %s", args.out)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
