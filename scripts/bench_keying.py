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
import sys
import time
from pathlib import Path
from typing import Any

import torch

from hei_nw.datasets import get_scenario
from hei_nw.datasets.edits import load_edits
from hei_nw.eval.harness import cpu_description, package_versions
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


def ms_per_text(seconds: dict[str, float], n: int) -> dict[str, float]:
    """Stage seconds over ``n`` texts as ms per text, with the ``key`` and
    ``gate_and_key`` sums."""
    ms = {k: 1e3 * v / n for k, v in seconds.items()}
    ms["key"] = ms["minilm"] + ms["lexical"]
    ms["gate_and_key"] = ms["key"] + ms["lm_features"]
    return ms


def write_path(pipe: Any, facts: list[str], batched: bool) -> tuple[float, list[bool]]:
    """Seconds for the whole write path over ``facts`` (gate + key + novelty + store),
    and the gate's decision on each fact."""
    size = 32 if batched else 1
    config = MemoryConfig().with_overrides({"features.batch_size": size})
    mem = EpisodicMemory(pipe, None, config)
    mem.features._word_cache.clear()
    decisions: list[Any] = []
    seconds = timed(lambda: decisions.extend(mem.observe_many(facts)))
    return seconds, [d.written for d in decisions]


def fast_path(
    model: Any, pipe: Any, texts: list[str], batch: int, facts: list[str] | None, ref: Any
) -> dict[str, Any]:
    """The batched path again with bfloat16 weights (same process, same texts)."""
    model.to(torch.bfloat16)
    stages(pipe, texts[:8], batch, True)  # warm-up in the new dtype
    ms = ms_per_text(stages(pipe, texts, batch, True), len(texts))
    out: dict[str, Any] = {
        "dtype": "bfloat16",
        "ms_per_text": ms,
        "speedup_over_reference": {k: ref["ms_per_text"][k] / ms[k] for k in ms},
    }
    if facts is not None:
        seconds, written = write_path(pipe, facts, True)
        out["s_per_edit"] = seconds / len(facts)
        out["speedup_over_reference_write"] = ref["s_per_edit"] / out["s_per_edit"]
        out["gate_decisions_differing_from_float32"] = sum(
            a != b for a, b in zip(written, ref["written"], strict=True)
        )
    model.to(torch.float32)
    return out


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
    p.add_argument(
        "--fast-dtype",
        choices=["none", "bfloat16"],
        default="none",
        help="also time the batched path with the weights in this dtype",
    )
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
        "cpu": cpu_description(),
        "threads": torch.get_num_threads(),
        "dtype": str(model.dtype),
        "texts": len(texts),
        "batch": args.batch,
        "paths": {},
    }
    for name, batched in (("reference", False), ("batched", True)):
        ms = ms_per_text(stages(pipe, texts, args.batch, batched), len(texts))
        result["paths"][name] = {"ms_per_text": ms}
    ref, new = (
        result["paths"]["reference"]["ms_per_text"],
        result["paths"]["batched"]["ms_per_text"],
    )
    result["ms_per_text"] = new
    result["speedup"] = {k: ref[k] / new[k] for k in new}
    facts: list[str] | None = None
    if args.counterfact:
        facts = [c.fact for c in load_edits(args.counterfact, "counterfact", args.edits)]
        write_path(pipe, facts[:8], True)
        runs = {
            name: write_path(pipe, facts, batched)
            for name, batched in (("reference", False), ("batched", True))
        }
        per = {name: seconds / len(facts) for name, (seconds, _) in runs.items()}
        result["write_path"] = {
            "edits": len(facts),
            "s_per_edit": per,
            "speedup": per["reference"] / per["batched"],
        }
        result["s_per_edit"] = per["batched"]
    if args.fast_dtype != "none":
        ref_info = {
            "ms_per_text": ref,
            "s_per_edit": result["write_path"]["s_per_edit"]["reference"] if facts else None,
            "written": runs["batched"][1] if facts else None,
        }
        result["fast"] = fast_path(model, pipe, texts, args.batch, facts, ref_info)
    result["versions"] = package_versions()
    path = write_json(Path(args.out), result)
    for k, v in new.items():
        print(f"{k:>13}: {v:7.2f} ms/text  (reference {ref[k]:7.2f}, x{ref[k] / v:.1f})")
    if "write_path" in result:
        print(
            f"write path: {result['s_per_edit']:.4f} s/edit (x{result['write_path']['speedup']:.1f})"
        )
    if "fast" in result:
        f = result["fast"]
        print(
            f"bfloat16: gate_and_key {f['ms_per_text']['gate_and_key']:.2f} ms/text,"
            f" key {f['ms_per_text']['key']:.2f} ms/text, write {f.get('s_per_edit')} s/edit"
        )
    print(f"wrote {path}")


if __name__ == "__main__":
    main()
