"""Benchmark recall P@1 and latency against store size (scenario D near-collisions).

For each size N the memory holds the first N stored episodes (targets and their hard
negatives) of a scenario-D stream, written through ``EpisodicMemory.observe_many`` with
the gate off (every episode stored). ``--queries`` held-out cues are recalled one at a
time. In the same run, on the same stored texts, the same cues and the same P@1 rule (a
verbatim repeat of the gold episode counts as a hit), the retrieval baselines are scored:
MiniLM dense (exact faiss), BM25 (``bm25s``) and their reciprocal-rank fusion.

    python scripts/bench_recall.py --sizes 1000 10000 --out reports/bench/recall.json
    python scripts/bench_recall.py --sizes 1000 100000 --dtype bfloat16 \
        --out reports/bench/recall_100k_bf16.json
"""

from __future__ import annotations

import argparse
import logging
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np

from hei_nw.baselines import RETRIEVERS, make_retriever
from hei_nw.datasets import get_scenario, query_items, record_of_trace, scenario_doc
from hei_nw.eval.harness import package_versions
from hei_nw.memory import EpisodicMemory, MemoryConfig
from hei_nw.memory.embedders import shared_embedder
from hei_nw.models.base import DTYPES, load_base
from hei_nw.models.sources import DEFAULT_MODEL
from hei_nw.utils.cli import OneLineErrorParser, fail
from hei_nw.utils.io import write_json

PROG = "scripts/bench_recall.py"
logger = logging.getLogger(PROG)


def percentiles(seconds: list[float]) -> dict[str, float]:
    arr = np.asarray(seconds) * 1e3
    return {"p50_ms": float(np.percentile(arr, 50)), "p95_ms": float(np.percentile(arr, 95))}


def bench_size(pipe: Any, size: int, queries: int, seed: int) -> dict[str, Any]:
    # D emits ~2.15 stored episodes per target; pick n so the stream holds >= size episodes.
    records = get_scenario("D").generate(max(1, size // 2 + 8), seed)
    stored = [r for r in records if r["kind"] in ("target", "hard_negative")][:size]
    in_store = {r["index"] for r in stored}
    items = [r for r in query_items(records) if r["index"] in in_store][:queries]
    texts = [r["episode_text"] for r in stored]
    config = MemoryConfig().with_overrides({"gate.use_for_writes": False})
    mem = EpisodicMemory(pipe, None, config)
    t0 = time.perf_counter()
    mem.observe_many(texts, docs=[scenario_doc(r["pointer"]) for r in stored], progress=True)
    write_s = time.perf_counter() - t0
    mem.recall_many([r["query"] for r in items[:8]])  # warm caches
    recalls = [mem.recall_many([r["query"]])[0] for r in items]
    text_of = {r["index"]: r["episode_text"] for r in records}
    p1 = np.mean(
        [
            bool(rec.candidate_ids)
            and text_of[record_of_trace(rec.candidate_ids[0])] == r["episode_text"]
            for rec, r in zip(recalls, items, strict=True)
        ]
    )
    stages = {
        s: percentiles([rec.timings[f"{s}_s"] for rec in recalls])
        for s in ("key", "ann", "hopfield", "pack")
    }
    baselines: dict[str, Any] = {}
    ids = [r["id"] for r in stored]
    by_id = dict(zip(ids, texts, strict=True))
    t0 = time.perf_counter()
    vectors = shared_embedder().embed_passages(texts)  # [size, 384], shared by minilm and hybrid
    embed_s = time.perf_counter() - t0
    for name in RETRIEVERS:
        retriever = make_retriever(name)
        t0 = time.perf_counter()
        retriever.index_passages(ids, texts, vectors)
        index_s = time.perf_counter() - t0
        lat, hit = [], []
        for r in items:
            t0 = time.perf_counter()
            top = retriever.search([r["query"]], 1)[0]
            lat.append(time.perf_counter() - t0)
            hit.append(bool(top) and by_id[top[0][0]] == r["episode_text"])
        baselines[name] = {
            "p_at_1": float(np.mean(hit)),
            "latency": percentiles(lat),
            "index_s": index_s + (embed_s if name != "bm25" else 0.0),
        }
    return {
        "stored": len(mem),
        "queries": len(items),
        "p_at_1_by_system": {"hei_nw": float(p1), **{k: v["p_at_1"] for k, v in baselines.items()}},
        "hei_nw": {
            "p_at_1": float(p1),
            "stage_latency": stages,
            "write_s_per_episode": write_s / len(stored),
            "bytes_per_key": mem.store.bytes_per_key(),
        },
        "baselines": baselines,
    }


def main(argv: list[str] | None = None) -> int:
    parser = OneLineErrorParser(
        prog=PROG, description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--sizes", type=int, nargs="+", default=[1000, 10000, 100000])
    parser.add_argument("--queries", type=int, default=200)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--model", default=DEFAULT_MODEL)
    parser.add_argument(
        "--dtype",
        choices=["auto", *sorted(DTYPES)],
        default="auto",
        help="weights of the LM that scores gate features and the key's word surprisal "
        "(auto: float32 on CPU); MiniLM and the baselines are unaffected",
    )
    parser.add_argument("--out", type=Path, default=Path("reports/bench/recall.json"))
    args = parser.parse_args(argv)
    if any(s < 1 for s in args.sizes) or args.queries < 1:
        fail(PROG, "--sizes/--queries: must be positive integers")
    if args.out.exists() and args.out.is_dir():
        fail(PROG, f"--out: {args.out} is a folder; give a .json file path")
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")
    _, model, pipe = load_base(args.model, args.dtype)
    results = {}
    for size in args.sizes:
        r = bench_size(pipe, size, args.queries, args.seed)
        results[str(size)] = r
        logger.info(
            "N=%d: P@1 %s", size, {k: round(v, 3) for k, v in r["p_at_1_by_system"].items()}
        )
    write_json(
        args.out,
        {
            "benchmark": "recall P@1 and latency vs store size, scenario D, all systems on the same items",
            "command": " ".join(["python", PROG, *(argv if argv is not None else sys.argv[1:])]),
            "model_id": args.model,
            "seed": args.seed,
            "device": str(pipe.device),
            "dtype": str(model.dtype),
            "results": results,
            "versions": package_versions(),
        },
    )
    logger.info("wrote %s", args.out)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
