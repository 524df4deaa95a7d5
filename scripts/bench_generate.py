"""Benchmark B0 generation throughput on scenario A at batch sizes 1, 8 and 32.

Writes ``reports/bench/generate.json`` with items/s per batch size and the ratio of
each batched run to the unbatched (batch 1) run measured in the same process.

    python scripts/bench_generate.py --n 64 --seed 7
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

from hei_nw.datasets import get_scenario, query_items
from hei_nw.eval.harness import package_versions
from hei_nw.eval.prompting import STOP, build_prompt
from hei_nw.models.base import load_base
from hei_nw.models.sources import DEFAULT_MODEL
from hei_nw.utils.io import write_json
from hei_nw.utils.seed import set_global_seed


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--n", type=int, default=64, help="queries per batch size (default 64)")
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--model", default=DEFAULT_MODEL)
    parser.add_argument("--device", default="auto")
    parser.add_argument("--batch-sizes", type=int, nargs="+", default=[1, 8, 32])
    parser.add_argument("--max-new-tokens", type=int, default=16)
    parser.add_argument("--out", default="reports/bench/generate.json")
    args = parser.parse_args()
    set_global_seed(args.seed)
    _, model, pipe = load_base(args.model, device=args.device)
    items = query_items(get_scenario("A").generate(args.n, args.seed))
    prompts = [build_prompt(r["query"], r["context"]) for r in items]  # oracle-style prompts
    pipe(prompts[:2], max_new_tokens=4, stop=STOP)  # warm-up
    runs = []
    for bs in args.batch_sizes:
        start = time.perf_counter()
        outs = pipe(prompts, max_new_tokens=args.max_new_tokens, stop=STOP, batch_size=bs)
        wall = time.perf_counter() - start
        runs.append(
            {
                "batch_size": bs,
                "items": len(outs),
                "wall_s": wall,
                "items_per_s": len(outs) / wall,
                "generated_tokens": sum(o["generated_tokens"] for o in outs),
            }
        )
    base = next((r for r in runs if r["batch_size"] == 1), runs[0])
    for r in runs:
        r["speedup_vs_batch1"] = r["items_per_s"] / base["items_per_s"]
    result = {
        "benchmark": "B0 generation throughput, scenario A (oracle-style prompts)",
        "model_id": args.model,
        "device": str(pipe.device),
        "dtype": str(model.dtype),
        "seed": args.seed,
        "n": len(items),
        "max_new_tokens": args.max_new_tokens,
        "runs": runs,
        "versions": package_versions(),
    }
    path = write_json(Path(args.out), result)
    for r in runs:
        print(
            f"batch {r['batch_size']:>3}: {r['items_per_s']:.2f} items/s  (x{r['speedup_vs_batch1']:.2f} vs batch 1)"
        )
    print(f"wrote {path}")


if __name__ == "__main__":
    main()
