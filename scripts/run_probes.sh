#!/usr/bin/env bash
# Engineering probes E0-E3 for one scenario from one script. Needs the B0 (with
# --qa.oracle) and B1 reports in $DIR (scripts/run_m2.sh makes them); runs the E0
# empty-memory B1 itself at the same n and seed.
#   bash scripts/run_probes.sh A        # DIR=reports/m2 N=500 SEED=7 by default
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
S=${1:-A}
DIR=${DIR:-reports/m2}
N=${N:-500}
SEED=${SEED:-7}
EMPTY="$DIR/e0-empty"
python3 -m hei_nw.eval.harness --mode B1 --scenario "$S" --n "$N" --seed "$SEED" --outdir "$EMPTY" --gate.tau 1e9
python3 scripts/probes_summary.py --dir "$DIR" --scenario "$S" --empty "$EMPTY"
