#!/usr/bin/env bash
# Interference experiment: replay policies under one fixed replay budget (fewer steps
# than it takes to learn every trace), several seeds, then the retention plot.
#
#   bash scripts/run_interference.sh                       # scenario A, seeds 1 2 3
#   SCENARIO=A SEEDS="1 2 3 4" POLICIES="ca2 shuffled" bash scripts/run_interference.sh
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
bash codex-env/setup.sh >/dev/null
SCENARIO=${SCENARIO:-A}
SEEDS=${SEEDS:-"1 2 3"}
POLICIES=${POLICIES:-"ca2 shuffled shuffled-pass"}
N=${N:-16}
CYCLES=${CYCLES:-4}
STEPS=${STEPS:-6}
OUT=${OUT:-reports/interference/$SCENARIO}
runs=()
for P in $POLICIES; do
  for S in $SEEDS; do
    dir="$OUT/runs/$P-s$S"
    python3 -m hei_nw.eval.replay_runner --scenario "$SCENARIO" --n "$N" --seed "$S" \
      --policy "$P" --cycles "$CYCLES" --steps-per-cycle "$STEPS" --retention-only \
      --outdir "$dir" --artifacts "artifacts/interference/$P-s$S"
    runs+=("$dir")
  done
done
python3 scripts/plot_replay_retention.py --runs "${runs[@]}" --outdir "$OUT"
echo "Retention: $OUT/retention.png and $OUT/retention.json"
