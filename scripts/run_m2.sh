#!/usr/bin/env bash
# Milestone M2 measurement: B0 and B1 on scenarios A, B, C (default n=500, seed 7), the
# oracle probe on A, and the paired-bootstrap CI of B1 - B0 EM. Reports: reports/m2/.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
bash codex-env/setup.sh >/dev/null
OUT=${OUT:-reports/m2}
N=${N:-500}
SEED=${SEED:-7}
SCENARIOS=${SCENARIOS:-"A B C"}
for S in $SCENARIOS; do
  extra=()
  [ "$S" = "A" ] && extra=(--qa.oracle)
  python3 -m hei_nw.eval.harness --mode B0 --scenario "$S" --n "$N" --seed "$SEED" --outdir "$OUT" "${extra[@]}"
  python3 -m hei_nw.eval.harness --mode B1 --scenario "$S" --n "$N" --seed "$SEED" --outdir "$OUT"
  python3 scripts/compute_lift_ci.py --a "$OUT/${S}_B0_metrics.json" --b "$OUT/${S}_B1_metrics.json" \
    --metric em --n_boot 2000 --out "$OUT/${S}_B1_vs_B0_ci.json"
done
bash scripts/make_report.sh "$OUT"
echo "Reports: $OUT/"
