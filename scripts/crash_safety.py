"""Crash safety at scale: SIGKILL a writer again and again, reopen the store each time.

    python scripts/crash_safety.py --kills 100 --out reports/crash/summary.json

Each round starts a writer process on the same store folder. The writer appends batches
of traces (keys from the DG keyer) and saves after each batch; after every save it prints
the ids it has committed. The parent kills it with SIGKILL at a random moment (after a
random number of saves plus a random delay, so kills land inside writes, index updates
and saves), then reopens the store and checks that every id the writer reported as
committed is there and that the store takes a new write. The report counts kills,
reopen failures and committed traces lost; the exit status is 1 when either is non-zero.
"""

from __future__ import annotations

import argparse
import logging
import os
import random
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from hei_nw.eval.harness import package_versions
from hei_nw.memory.store import AssociativeStore, StoreError
from hei_nw.utils.cli import OneLineErrorParser, fail
from hei_nw.utils.io import write_json

PROG = "scripts/crash_safety.py"
logger = logging.getLogger(PROG)

WRITER = """
import sys
from pathlib import Path
from hei_nw.memory.keyer import DGKeyer
from hei_nw.memory.store import AssociativeStore
from hei_nw.memory.traces import Salience, SpanRef, new_trace
path, round_id = sys.argv[1], int(sys.argv[2])
keyer = DGKeyer()
store = AssociativeStore.open(path) if (Path(path) / "CURRENT").exists() else AssociativeStore(path=path)
print("ready", flush=True)
for batch in range(10_000):
    ids = [f"r{round_id}-b{batch}-{i}" for i in range(8)]
    texts = [f"round {round_id} batch {batch} item {i} token{round_id}x{batch}x{i}" for i in range(8)]
    traces = [new_trace(t, SpanRef(doc=t, start=0, end=1),
              Salience(surprise=0.5, novelty=1.0, reward=0.0, pin=False, S=1.5)) for t in ids]
    store.write(keyer.keys(texts), traces)
    store.save()
    print(" ".join(ids), flush=True)
"""


def one_round(path: Path, round_id: int, rng: random.Random, earlier: set[str]) -> dict[str, Any]:
    """Start a writer on the store, kill it mid-stream, reopen; check that every trace
    committed in this round and all earlier rounds (``earlier``, updated) is there."""
    proc = subprocess.Popen(
        [sys.executable, "-c", WRITER, str(path), str(round_id)],
        stdout=subprocess.PIPE,
        text=True,
    )
    assert proc.stdout is not None
    if proc.stdout.readline().strip() != "ready":
        proc.kill()
        raise RuntimeError("the writer did not start; run the script on its own to see why")
    committed: list[str] = []
    for _ in range(rng.randint(0, 3)):  # let 0-3 saves land, then kill at a random moment
        committed += proc.stdout.readline().split()
    time.sleep(rng.uniform(0.0, 0.04))
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    # Anything printed before the kill was saved; read it (the pipe keeps it).
    committed += [t for line in proc.stdout.read().splitlines() for t in line.split()]
    try:
        store = AssociativeStore.open(path)
    except StoreError as exc:
        return {
            "round": round_id,
            "committed": len(committed),
            "reopened": False,
            "error": str(exc),
        }
    earlier.update(committed)
    lost = [t for t in earlier if t not in store.slot_of]
    return {
        "round": round_id,
        "committed": len(committed),
        "stored_after": len(store),
        "reopened": True,
        "committed_so_far": len(earlier),
        "lost": len(lost),
    }


def main(argv: list[str] | None = None) -> int:
    parser = OneLineErrorParser(
        prog=PROG, description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--kills", type=int, default=100)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--store", type=Path, default=Path("artifacts/crash-store"))
    parser.add_argument("--out", type=Path, default=Path("reports/crash/summary.json"))
    args = parser.parse_args(argv)
    if args.kills < 1:
        fail(PROG, f"--kills: must be at least 1, got {args.kills}")
    if args.store.exists():
        fail(PROG, f"--store: {args.store} exists; give a new folder (the test starts from empty)")
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")
    rng = random.Random(args.seed)
    t0 = time.perf_counter()
    rounds = []
    committed: set[str] = set()
    for r in range(args.kills):
        rounds.append(one_round(args.store, r, rng, committed))
        if (r + 1) % 10 == 0:
            logger.info(
                "%d kills; %d traces in the store", r + 1, rounds[-1].get("stored_after", -1)
            )
    final = AssociativeStore.open(args.store)
    reopen_failures = sum(not x["reopened"] for x in rounds)
    lost = len([t for t in committed if t not in final.slot_of])
    summary = {
        "schema": "hei_nw.crash-safety/1",
        "command": " ".join(["python", PROG, *(argv if argv is not None else sys.argv[1:])]),
        "kills": args.kills,
        "seed": args.seed,
        "reopen_failures": reopen_failures,
        "committed_traces_lost": lost,
        "committed_total": len(committed),
        "max_lost_in_a_round": max(x.get("lost", 0) for x in rounds),
        "final_traces": len(final),
        "wall_time_s": time.perf_counter() - t0,
        "rounds": rounds,
        "versions": package_versions(),
    }
    write_json(args.out, summary)
    logger.info(
        "%d kills: %d reopen failures, %d committed traces lost -> %s",
        args.kills,
        reopen_failures,
        lost,
        args.out,
    )
    worst = summary["max_lost_in_a_round"]
    return 0 if reopen_failures == 0 and lost == 0 and worst == 0 else 1


if __name__ == "__main__":
    raise SystemExit(main())
