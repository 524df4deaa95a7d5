"""Choose consolidation settings on a dev split: B3 EM (held-out phrasings) vs drift, per config.

    python scripts/consolidation_sweep.py --scenario A --n 100 --seed 11 \
        --config base '{}' --config cov10 '{"consolidation.cov_weight": 10}' \
        --out reports/consolidation/sweep_A_seed11.json

The expensive parts are shared by every config: the stream's writes, B0 and B1, the
served queries (training phrasings, logged with the memory's own answers) and the drift
suite's base answers. Each config then starts from the base weights (the previous
adapter is removed), consolidates, and is scored: B3 EM on the held-out phrasings, B3 EM
on the served (training) phrasings, B2 (the adapter's weights with B1's recalled notes in
the prompt: recall reads the base weights, so B2 recalls what B1 did), the drift guard,
the same agreement measure on the anchor questions themselves (how well the anchor rows
are held, against how well that generalises to the disjoint suite), and the time it took. Dev seeds
only: the reported runs use seed 7, which no sweep touches. The JSON is rewritten after
every config, so a long sweep can be read while it runs.
"""

from __future__ import annotations

import argparse
import json
import logging
import sys
import time
from pathlib import Path
from typing import Any

from hei_nw.consolidation import state_of
from hei_nw.datasets import get_scenario, query_items
from hei_nw.datasets.general_questions import family_of, general_questions
from hei_nw.eval import drift as drift_guard
from hei_nw.eval.harness import package_versions
from hei_nw.eval.memory_mode import write_phase
from hei_nw.eval.qa import GenConfig, run_qa
from hei_nw.eval.replay import served_cues
from hei_nw.memory import EpisodicMemory, MemoryConfig
from hei_nw.models.base import load_base
from hei_nw.models.sources import DEFAULT_MODEL
from hei_nw.utils.cli import OneLineErrorParser, fail, writable_dir_or_fail
from hei_nw.utils.io import write_json

PROG = "scripts/consolidation_sweep.py"
logger = logging.getLogger(PROG)


def parse(argv: list[str]) -> argparse.Namespace:
    p = OneLineErrorParser(
        prog=PROG, description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    p.add_argument("--scenario", default="A", choices=["A", "B", "C", "D"])
    p.add_argument("--n", type=int, default=100)
    p.add_argument("--seed", type=int, default=11, help="a dev seed (reported runs use 7)")
    p.add_argument(
        "--config",
        nargs=2,
        action="append",
        metavar=("NAME", "JSON"),
        required=True,
        help='a named config: {"section.field": value} overrides of MemoryConfig',
    )
    p.add_argument("--model", default=DEFAULT_MODEL)
    p.add_argument("--out", required=True, help="JSON report path")
    p.add_argument("--no-drift", action="store_true", help="skip the drift guard")
    args = p.parse_args(argv)
    if args.seed == 7:
        fail(PROG, "--seed 7 is the reported seed; sweep on a dev seed (e.g. 11)")
    configs = []
    for name, text in args.config:
        try:
            overrides = json.loads(text)
            MemoryConfig().with_overrides(overrides)
        except (json.JSONDecodeError, ValueError) as exc:
            fail(PROG, f"--config {name}: {exc}")
        configs.append((name, overrides))
    args.configs = configs
    writable_dir_or_fail(PROG, "--out", Path(args.out).parent)
    return args


def em(rows: list[Any]) -> float:
    return sum(r["em"] for r in rows) / max(1, len(rows))


def main(argv: list[str] | None = None) -> int:
    args = parse(list(sys.argv[1:] if argv is None else argv))
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")
    t0 = time.perf_counter()
    _, _, pipe = load_base(args.model, "float32")
    records = get_scenario(args.scenario).generate(args.n, args.seed)
    items = query_items(records)
    mem = EpisodicMemory(pipe, None, MemoryConfig())
    gate = write_phase(mem, records)
    gen = GenConfig(16, 32)
    b0 = em(run_qa(pipe, items, [None] * len(items), gen, desc="B0"))
    recalls = mem.recall_many([r["query"] for r in items])
    notes = [r.memory_text or None for r in recalls]
    b1 = em(run_qa(pipe, items, notes, gen, desc="B1"))
    cues = served_cues(items)
    mem.answer(cues, log=True, batch_size=32)
    suite = None
    if not args.no_drift:
        suite = drift_guard.build_suite(pipe, drift_guard.suite_questions(exclude=cues))
    train_items = [dict(r, query=c) for r in items for c in r["train_cues"]]
    out: dict[str, Any] = {
        "command": " ".join(["python", PROG, *(argv if argv is not None else sys.argv[1:])]),
        "scenario": args.scenario,
        "n": args.n,
        "seed": args.seed,
        "split": "dev (seed 11; reports use seed 7)",
        "model_id": args.model,
        "versions": package_versions(),
        "stored": gate["stored"],
        "served_queries": len(mem.queries),
        "em_b0": b0,
        "em_b1": b1,
        "runs": [],
    }
    for name, overrides in args.configs:
        state = mem.consolidation_state
        if state is not None:
            state.trainer.detach()
        mem.consolidation_state = None
        mem.config = MemoryConfig().with_overrides(overrides)
        held = None
        if suite is not None:  # base answers to the anchor questions, before training
            # the same measure on the anchor questions the student is held to: fit of the
            # anchor rows themselves, against the disjoint suite's generalisation
            pool = general_questions("anchor", mem.config.consolidation.anchor_per_family)
            anchors = [(q, "completion", family_of(q)) for q in pool]
            held = drift_guard.build_suite(pipe, anchors, 128, min_size=1)
        t1 = time.perf_counter()
        report = mem.consolidate()
        seconds = time.perf_counter() - t1
        b3_pipe = state_of(mem).trainer.merged_pipe()
        b3 = em(run_qa(b3_pipe, items, [None] * len(items), gen, desc="B3"))
        b2 = em(run_qa(b3_pipe, items, notes, gen, desc="B2"))
        b3_train = em(run_qa(b3_pipe, train_items, [None] * len(train_items), gen, desc="B3-train"))  # type: ignore[arg-type]
        run: dict[str, Any] = {
            "name": name,
            "overrides": overrides,
            "em_b3": b3,
            "b3_over_b1": b3 / b1 if b1 else None,
            "em_b3_trained_phrasings": b3_train,
            "em_b2": b2,
            "b2_minus_b1": b2 - b1,
            "seconds": seconds,
            "tokens_per_s": report.tokens_per_s,
            "steps": report.steps,
            "final_need": report.curve[-1]["need_mean"] if report.curve else None,
            "final_losses": report.curve[-1].get("loss_by_kind_last") if report.curve else None,
        }
        if suite is not None and held is not None:
            d = drift_guard.measure(b3_pipe, suite, None, batch_size=128)
            a = drift_guard.measure(b3_pipe, held, None, batch_size=128)
            run.update(anchor_changed_fraction=a["drift_changed_fraction"])
            run.update(
                drift_changed_fraction=d["drift_changed_fraction"],
                tf_changed_fraction=d["tf_changed_fraction"],
                drift_by_source={
                    k: v["changed"] for k, v in d["by_source"].items() if v["changed"]
                },
            )
        out["runs"].append(run)
        out["wall_s"] = time.perf_counter() - t0
        write_json(args.out, out)
        logger.info("%s: %s", name, {k: v for k, v in run.items() if k != "overrides"})
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
