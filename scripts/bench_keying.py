"""Benchmark keying and the write path per text, per stage, old path against new.

    python scripts/bench_keying.py --n 500 --out reports/bench/keying.json

Texts: scenario-D episodes (near-collisions whose numbers keep adding new words, so the
word-surprisal cache stays cold) -- and, for the write path, CounterFact edit facts when
``--counterfact FILE`` is given. Every stage starts from a cold word cache.

* ``reference``: the previous implementation's work -- one keyer call per text, so the
  LM word-surprisal forward runs once per text; one gate/key/store pass per episode.
* ``batched``: the words of a whole batch scored in one forward pass, MiniLM in one
  batch, and the accepted traces written to the store with one index call.

Stages (``ms_per_text``): ``lm_features`` (the gate's surprise: one LM forward),
``minilm`` (sentence vectors), ``lexical`` (word surprisal + assemblies + k-WTA);
``key`` = minilm + lexical; ``gate_and_key`` adds lm_features. ``s_per_edit`` is the
whole write path (features, gate, key, novelty search, store write) per edit.
"""

from __future__ import annotations

import argparse
import platform
import sys
import time
from pathlib import Path
from typing import Any

import torch

from hei_nw.datasets import get_scenario
from hei_nw.datasets.edits import load_edits
from hei_nw.eval.harness import package_versions
from hei_nw.memory import EpisodicMemory, MemoryConfig
from hei_nw.memory.embedders import shared_embedder
from hei_nw.memory.features import LMFeatures
from hei_nw.memory.keyer import DGKeyer
from hei_nw.models.base import load_base
from hei_nw.models.sources import DEFAULT_MODEL
from hei_nw.utils.io import write_json


def timed(fn: Any) -> float:
    t0 = time.perf_counter()
    fn()
    return time.perf_counter() - t0


def stages(pipe: Any, texts: list[str], batch: int, batched: bool) -> dict[str, float]:
    """Seconds per stage over ``texts`` (cold word cache), one path."""
    feats = LMFeatures(pipe, batch_size=batch)
    emb = shared_embedder()
    keyer = DGKeyer(
        MemoryConfig().keyer, vectorizer=emb.embed_passages, word_weights=feats.word_surprisal
    )
    chunks = (
        [texts[i : i + batch] for i in range(0, len(texts), batch)]
        if batched
        else [[t] for t in texts]
    )
    vectors: list[Any] = []
    out = {
        "lm_features": timed(lambda: [feats(c) for c in chunks]),
        "minilm": timed(lambda: vectors.extend(emb.embed_passages(c) for c in chunks)),
    }
    out["lexical"] = timed(lambda: [keyer.keys(c, v) for c, v in zip(chunks, vectors, strict=True)])
    return out


def write_path(pipe: Any, facts: list[str], batched: bool) -> float:
    """Seconds for the whole write path over ``facts`` (gate + key + novelty + store)."""
    size = 32 if batched else 1
    config = MemoryConfig().with_overrides({"features.batch_size": size})
    mem = EpisodicMemory(pipe, None, config)
    mem.features._word_cache.clear()
    return timed(lambda: mem.observe_many(facts))


def main() -> None:
    p = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    p.add_argument("--n", type=int, default=500, help="texts keyed per path")
    p.add_argument("--seed", type=int, default=7)
    p.add_argument("--batch", type=int, default=32)
    p.add_argument(
        "--counterfact", default=None, help="CounterFact file: time the write path on its facts"
    )
    p.add_argument("--edits", type=int, default=300)
    p.add_argument("--model", default=DEFAULT_MODEL)
    p.add_argument("--out", default="reports/bench/keying.json")
    args = p.parse_args()
    _, model, pipe = load_base(args.model, "float32")
    records = get_scenario("D").generate(args.n, args.seed)
    texts = [r["episode_text"] for r in records if r["kind"] in ("target", "hard_negative")][
        : args.n
    ]
    stages(pipe, texts[:8], args.batch, True)  # warm-up (MiniLM load, kernels)
    result: dict[str, Any] = {
        "benchmark": "keying and write path, per text, reference (per text) vs batched",
        "command": "python scripts/bench_keying.py " + " ".join(sys.argv[1:]),
        "model_id": args.model,
        "device": str(pipe.device),
        "cpu": platform.processor() or platform.machine(),
        "threads": torch.get_num_threads(),
        "dtype": str(model.dtype),
        "texts": len(texts),
        "batch": args.batch,
        "paths": {},
    }
    for name, batched in (("reference", False), ("batched", True)):
        s = stages(pipe, texts, args.batch, batched)
        ms = {k: 1e3 * v / len(texts) for k, v in s.items()}
        ms["key"] = ms["minilm"] + ms["lexical"]
        ms["gate_and_key"] = ms["key"] + ms["lm_features"]
        result["paths"][name] = {"ms_per_text": ms}
    ref, new = (
        result["paths"]["reference"]["ms_per_text"],
        result["paths"]["batched"]["ms_per_text"],
    )
    result["ms_per_text"] = new
    result["speedup"] = {k: ref[k] / new[k] for k in new}
    if args.counterfact:
        facts = [c.fact for c in load_edits(args.counterfact, "counterfact", args.edits)]
        write_path(pipe, facts[:8], True)
        per = {
            name: write_path(pipe, facts, batched) / len(facts)
            for name, batched in (("reference", False), ("batched", True))
        }
        result["write_path"] = {
            "edits": len(facts),
            "s_per_edit": per,
            "speedup": per["reference"] / per["batched"],
        }
        result["s_per_edit"] = per["batched"]
    result["versions"] = package_versions()
    path = write_json(Path(args.out), result)
    for k, v in new.items():
        print(f"{k:>13}: {v:7.2f} ms/text  (reference {ref[k]:7.2f}, x{ref[k] / v:.1f})")
    if "write_path" in result:
        print(
            f"write path: {result['s_per_edit']:.4f} s/edit (x{result['write_path']['speedup']:.1f})"
        )
    print(f"wrote {path}")


if __name__ == "__main__":
    main()
