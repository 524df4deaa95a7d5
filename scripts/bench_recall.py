"""Benchmark recall latency and P@1 against store size (scenario D near-collisions).

For each size N the store holds every episode of a scenario-D stream with N stored
episodes; 200 held-out cues are recalled. Reports per-stage latency P50/P95 (key, ANN,
Hopfield, pack), P@1, bytes per stored key, write throughput, and the RAG baseline
(bundled MiniLM + exact faiss) on the same cues in the same run. Keying (LM word
surprisal + MiniLM sentence vector) is timed separately from the store path; the MiniLM
passage vectors are computed once and feed both the keys and the RAG index.

    python scripts/bench_recall.py --sizes 1000 10000 --out reports/bench/recall.json
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path
from typing import Any

import numpy as np

from hei_nw.baselines.rag import BUNDLED_MINILM, FaissIndex, HFEmbedder
from hei_nw.datasets import get_scenario, query_items
from hei_nw.eval.harness import package_versions
from hei_nw.eval.memory_mode import MemorySettings, build_stack, trace_record_index
from hei_nw.models.base import load_base
from hei_nw.models.sources import DEFAULT_MODEL
from hei_nw.traces import SpanRef, new_trace, scenario_doc
from hei_nw.utils.io import write_json


def percentiles(values: list[float]) -> dict[str, float]:
    arr = np.asarray(values) * 1e3
    return {"p50_ms": float(np.percentile(arr, 50)), "p95_ms": float(np.percentile(arr, 95))}


def bench_size(pipe: Any, size: int, queries: int, seed: int) -> dict[str, Any]:
    # D emits ~2.15 stored episodes per target; pick n so the stream holds ~size episodes.
    records = get_scenario("D").generate(max(1, size // 2), seed)
    stored = [r for r in records if r["kind"] in ("target", "hard_negative")][:size]
    items = [r for r in query_items(records) if r in stored][:queries]
    stack = build_stack(pipe, MemorySettings(use_gate=False))
    texts = [r["episode_text"] for r in stored]
    # The keyer's semantic block and the RAG baseline use the same bundled MiniLM passage
    # embeddings, so they are computed once and shared: [size, 384].
    emb = HFEmbedder(BUNDLED_MINILM)
    t0 = time.perf_counter()
    vectors = emb.embed_passages(texts)
    t_embed = time.perf_counter() - t0
    keys = stack.keyer.keys(texts, vectors)
    t_key = time.perf_counter() - t0
    traces = [
        new_trace(
            f"{scenario_doc(r['pointer'])}#0:{len(r['episode_text'])}",
            SpanRef(doc=scenario_doc(r["pointer"]), start=0, end=len(r["episode_text"])),
            {"surprise": 0.0, "novelty": 1.0, "reward": 0.0, "pin": False, "S": 1.0},
            group_id=r["group_id"],
        )
        for r in stored
    ]
    t0 = time.perf_counter()
    stack.store.write(keys, traces)
    t_write = time.perf_counter() - t0
    recalls = stack.recall.recall([r["query"] for r in items])  # warm caches
    recalls = [stack.recall.recall([r["query"]])[0] for r in items]
    p1 = np.mean(
        [
            bool(rec.candidate_ids) and trace_record_index(rec.candidate_ids[0]) == r["index"]
            for rec, r in zip(recalls, items, strict=True)
        ]
    )
    stages = {
        s: percentiles([rec.timings[f"{s}_s"] for rec in recalls])
        for s in ("key", "ann", "hopfield", "pack")
    }
    store_path = [
        rec.timings["ann_s"] + rec.timings["hopfield_s"] + rec.timings["pack_s"] for rec in recalls
    ]
    index = FaissIndex(emb.dim)
    index.add([r["id"] for r in stored], vectors)
    rag_lat, rag_hit = [], []
    for r in items:
        t0 = time.perf_counter()
        hit = index.search(emb.embed_queries([r["query"]]), 1)[0]
        rag_lat.append(time.perf_counter() - t0)
        rag_hit.append(bool(hit) and hit[0][0] == r["id"])
    return {
        "stored": len(stack.store),
        "queries": len(items),
        "p_at_1": float(p1),
        "stage_latency": stages,
        "ann_hopfield_pack": percentiles(store_path),
        "keying_s_per_episode": t_key / len(stored),
        "keying_breakdown_s_per_episode": {
            "minilm_embed": t_embed / len(stored),
            "lexical_and_kwta": (t_key - t_embed) / len(stored),
        },
        "store_write_s_total": t_write,
        "store_writes_per_s": len(stored) / max(t_write, 1e-9),
        "bytes_per_key": stack.store.bytes_per_key(),
        "rag": {
            "p_at_1": float(np.mean(rag_hit)),
            "latency": percentiles(rag_lat),
            "embedder": BUNDLED_MINILM,
        },
    }


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--sizes", type=int, nargs="+", default=[1000, 10000, 100000])
    parser.add_argument("--queries", type=int, default=200)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--model", default=DEFAULT_MODEL)
    parser.add_argument("--out", type=Path, default=Path("reports/bench/recall.json"))
    args = parser.parse_args()
    _, model, pipe = load_base(args.model)
    results = {}
    for size in args.sizes:
        results[str(size)] = bench_size(pipe, size, args.queries, args.seed)
        r = results[str(size)]
        print(
            f"N={size}: P@1 {r['p_at_1']:.3f} (RAG {r['rag']['p_at_1']:.3f}); ANN+Hopfield+pack P95 "
            f"{r['ann_hopfield_pack']['p95_ms']:.2f} ms; key P95 {r['stage_latency']['key']['p95_ms']:.1f} ms"
        )
    write_json(
        args.out,
        {
            "benchmark": "recall latency and P@1 vs store size, scenario D",
            "command": "python scripts/bench_recall.py "
            + " ".join(f"--sizes {' '.join(map(str, args.sizes))}".split()),
            "model_id": args.model,
            "seed": args.seed,
            "device": str(pipe.device),
            "dtype": str(model.dtype),
            "results": results,
            "versions": package_versions(),
        },
    )
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
