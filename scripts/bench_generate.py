"""Benchmark B0 generation throughput at batch sizes 1, 8 and 32, old path against new.

    python scripts/bench_generate.py --n 64 --seed 7 --out reports/bench/generate.json

Both code paths run in this process on the same prompts (scenario A held-out cues in
the B0 layout): ``reference`` recomputes every prompt in full (``prefix=False``, the
previous implementation's work), ``cached`` computes the shared few-shot prefix once
and reuses its KV cache. The JSON gives items/s per (path, batch size),
``batch32_over_batch1`` (cached path) and ``speedup`` (cached over reference) per batch.
Answers are compared across paths and batch sizes: they must be identical.
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path
from typing import Any

import torch

from hei_nw.datasets import get_scenario, query_items
from hei_nw.eval.harness import cpu_description, package_versions
from hei_nw.models.base import load_base
from hei_nw.models.sources import DEFAULT_MODEL
from hei_nw.prompts import STOP, build_prompt
from hei_nw.utils.io import write_json
from hei_nw.utils.seed import set_global_seed


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--n", type=int, default=64, help="queries per run (default 64)")
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--model", default=DEFAULT_MODEL)
    parser.add_argument("--device", default="auto")
    parser.add_argument("--dtype", default="float32")
    parser.add_argument("--batch-sizes", type=int, nargs="+", default=[1, 8, 32])
    parser.add_argument("--max-new-tokens", type=int, default=16)
    parser.add_argument("--out", default="reports/bench/generate.json")
    args = parser.parse_args()
    set_global_seed(args.seed)
    _, model, pipe = load_base(args.model, args.dtype, device=args.device)
    items = query_items(get_scenario("A").generate(args.n, args.seed))
    prompts = [build_prompt(r["query"], None) for r in items]  # B0: the question, no notes
    pipe(prompts[:2], max_new_tokens=4, stop=STOP)  # warm-up
    runs: list[dict[str, Any]] = []
    answers: dict[tuple[str, int], list[str]] = {}
    for path, prefix in (("reference", False), ("cached", True)):
        for bs in args.batch_sizes:
            start = time.perf_counter()
            outs = pipe(
                prompts, max_new_tokens=args.max_new_tokens, stop=STOP, batch_size=bs, prefix=prefix
            )
            wall = time.perf_counter() - start
            answers[(path, bs)] = [o["text"] for o in outs]
            runs.append(
                {
                    "path": path,
                    "batch_size": bs,
                    "items": len(outs),
                    "wall_s": wall,
                    "items_per_s": len(outs) / wall,
                    "generated_tokens": sum(o["generated_tokens"] for o in outs),
                }
            )
    rate = {(r["path"], r["batch_size"]): r["items_per_s"] for r in runs}
    first = answers[("reference", args.batch_sizes[0])]
    result = {
        "benchmark": "B0 generation throughput, scenario A held-out cues (no notes)",
        "command": "python scripts/bench_generate.py " + " ".join(__import__("sys").argv[1:]),
        "model_id": args.model,
        "device": str(pipe.device),
        "cpu": cpu_description(),
        "threads": torch.get_num_threads(),
        "dtype": str(model.dtype),
        "seed": args.seed,
        "n": len(items),
        "max_new_tokens": args.max_new_tokens,
        "runs": runs,
        "speedup": {
            str(bs): rate[("cached", bs)] / rate[("reference", bs)] for bs in args.batch_sizes
        },
        "batch32_over_batch1": (
            rate[("cached", 32)] / rate[("cached", 1)]
            if 32 in args.batch_sizes and 1 in args.batch_sizes
            else None
        ),
        "reference_batch32_over_batch1": (
            rate[("reference", 32)] / rate[("reference", 1)]
            if 32 in args.batch_sizes and 1 in args.batch_sizes
            else None
        ),
        "identical_answers": all(a == first for a in answers.values()),
        "versions": package_versions(),
    }
    written = write_json(Path(args.out), result)
    for r in runs:
        print(f"{r['path']:>9} batch {r['batch_size']:>3}: {r['items_per_s']:.2f} items/s")
    print(
        f"batch32_over_batch1 {result['batch32_over_batch1']:.2f}; identical answers: {result['identical_answers']}"
    )
    print(f"wrote {written}")


if __name__ == "__main__":
    main()
