"""Benchmark the edit benchmark's scoring loop: seconds per prompt, old path against new.

    python scripts/bench_edit_eval.py --data ../shared/data/counterfact/counterfact-val.json \
        --edits 100 --out reports/bench/edit_eval.json

Every prompt of an edit cell is both generated (greedy answer) and teacher-forced (the
target's token accuracy). On the same prompts, in this process:

* ``reference`` -- the previous implementation's work: each prompt recomputed in full,
  once for generation and once more for teacher forcing;
* ``new`` -- one pass: the few-shot prefix's KV cache is computed once, batches are
  sorted by length, and one prefill serves both scoring and generation.

Prompts are the cell's rewrite, rephrase and locality prompts, without memory (B0) and
with the edit's fact as notes (what B1 sees when it recalls). The JSON holds
``s_per_edit`` / ``s_per_prompt`` per path, ``speedup``, identity checks of the outputs,
and the projection to N=1000 with the plain baseline (pre-edit + B1 + plain = 9000 prompts).

``--fast-dtype bfloat16`` adds a third path in the same process: the new path with the
weights cast to bfloat16 (CPUs with AVX512-BF16 run its matmuls about twice as fast).
Its answers are not bit-identical to float32, so the JSON also records how many answers
and teacher-forced target hits differ from the float32 path (``fast``).
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path
from typing import Any

import torch

from hei_nw.datasets.edits import load_edits
from hei_nw.eval.edit_scoring import QUERY_KINDS, edit_targets
from hei_nw.eval.edits import build_queries
from hei_nw.eval.harness import cpu_description, package_versions
from hei_nw.metrics.teacher_forced import teacher_force
from hei_nw.models.base import load_base
from hei_nw.models.sources import DEFAULT_MODEL
from hei_nw.prompts import STOP
from hei_nw.utils.io import write_json


def main() -> None:
    p = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    p.add_argument("--data", required=True, help="CounterFact JSON (EasyEdit layout)")
    p.add_argument("--edits", type=int, default=100)
    p.add_argument("--batch-size", type=int, default=32)
    p.add_argument("--model", default=DEFAULT_MODEL)
    p.add_argument(
        "--fast-dtype",
        choices=["none", "bfloat16"],
        default="none",
        help="also time the new path with the weights in this dtype",
    )
    p.add_argument("--out", default="reports/bench/edit_eval.json")
    args = p.parse_args()
    _, model, pipe = load_base(args.model, "float32")
    cases = load_edits(args.data, "counterfact", args.edits)
    targets = edit_targets(cases)
    notes = {k: [c.fact for c in cases] for k in QUERY_KINDS}
    sets = {"B0": build_queries(cases, "counterfact"), "B1-notes": build_queries(cases, "counterfact", notes)}  # type: ignore[arg-type]
    prompts = [pr for q in sets.values() for k in QUERY_KINDS for pr in q.prompts[k]]
    goals = [t for _ in sets for k in QUERY_KINDS for t in targets[k]]
    pipe(prompts[:4], max_new_tokens=2, stop=STOP)  # warm-up
    bs = args.batch_size
    t0 = time.perf_counter()
    ref_text = [
        o["text"] for o in pipe(prompts, max_new_tokens=12, stop=STOP, batch_size=bs, prefix=False)
    ]
    ref_forced = teacher_force(pipe, prompts, goals, bs, prefix=False)
    t_ref = time.perf_counter() - t0
    t1 = time.perf_counter()
    decoded = pipe.run(prompts, targets=goals, max_new_tokens=12, stop=STOP, batch_size=bs)
    t_new = time.perf_counter() - t1
    new_text = [pipe.output(d, STOP)["text"] for d in decoded]
    new_forced = [d.forced for d in decoded]
    acc_gap = max(
        abs(a.token_accuracy - b.token_accuracy)
        for a, b in zip(ref_forced, new_forced, strict=True)
        if b is not None
    )
    n = len(prompts)
    per = {"reference": t_ref / n, "new": t_new / n}
    result: dict[str, Any] = {
        "benchmark": "edit-benchmark scoring: greedy answer + teacher-forced target per prompt",
        "command": "python scripts/bench_edit_eval.py " + " ".join(sys.argv[1:]),
        "model_id": args.model,
        "device": str(pipe.device),
        "cpu": cpu_description(),
        "threads": torch.get_num_threads(),
        "dtype": str(model.dtype),
        "edits": len(cases),
        "prompts": n,
        "batch_size": bs,
        "s_per_prompt": per,
        "s_per_edit": {k: v * n / len(cases) for k, v in per.items()},
        "speedup": per["reference"] / per["new"],
        "identical_answers": ref_text == new_text,
        "answers_differing": sum(a != b for a, b in zip(ref_text, new_text, strict=True)),
        "max_token_accuracy_gap": acc_gap,
        "projected_n1000_b1_with_plain_min": {k: v * 9000 / 60 for k, v in per.items()},
        "versions": package_versions(),
    }
    if args.fast_dtype != "none":
        result["fast"] = fast_path(model, pipe, prompts, goals, bs, new_text, new_forced, t_ref)
        result["fast"]["dtype"] = args.fast_dtype
    path = write_json(Path(args.out), result)
    print(
        f"reference {per['reference']:.3f} s/prompt, new {per['new']:.3f} s/prompt: x{result['speedup']:.1f}"
    )
    print(
        f"identical answers: {result['identical_answers']}, accuracy gap {acc_gap:.2e}; wrote {path}"
    )
    if "fast" in result:
        f = result["fast"]
        print(
            f"{f['dtype']}: {f['s_per_prompt']:.3f} s/prompt, x{f['speedup_over_reference']:.1f};"
            f" {f['answers_differing_from_float32']} answers differ from float32"
        )


def fast_path(
    model: Any,
    pipe: Any,
    prompts: list[Any],
    goals: list[str],
    bs: int,
    text32: list[str],
    forced32: list[Any],
    t_ref: float,
) -> dict[str, Any]:
    """The new path again with bfloat16 weights; agreement with the float32 new path."""
    model.to(torch.bfloat16)
    pipe(prompts[:4], max_new_tokens=2, stop=STOP)  # warm-up in the new dtype
    t0 = time.perf_counter()
    decoded = pipe.run(prompts, targets=goals, max_new_tokens=12, stop=STOP, batch_size=bs)
    t = time.perf_counter() - t0
    model.to(torch.float32)
    text = [pipe.output(d, STOP)["text"] for d in decoded]
    hit32 = [f is not None and f.token_accuracy == 1.0 for f in forced32]
    hit = [d.forced is not None and d.forced.token_accuracy == 1.0 for d in decoded]
    n = len(prompts)
    return {
        "s_per_prompt": t / n,
        "speedup_over_reference": t_ref / t,
        "answers_differing_from_float32": sum(a != b for a, b in zip(text, text32, strict=True)),
        "target_hits_differing_from_float32": sum(a != b for a, b in zip(hit, hit32, strict=True)),
        "target_hit_rate": {"float32": sum(hit32) / n, "fast": sum(hit) / n},
        "projected_n1000_b1_with_plain_min": t / n * 9000 / 60,
    }


if __name__ == "__main__":
    main()
