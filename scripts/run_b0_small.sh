#!/usr/bin/env bash
# B0 on scenarios A-E at n=64 on the default model, with the oracle probe on A and the
# long-context baseline on E. Reports land in reports/baseline/ (about 21 min on 2 CPU cores).
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
bash codex-env/setup.sh >/dev/null
OUT=${OUT:-reports/baseline}
N=${N:-64}
SEED=${SEED:-7}
python3 -m hei_nw.eval.harness --mode B0 --scenario A --n "$N" --seed "$SEED" --outdir "$OUT" --qa.oracle
python3 -m hei_nw.eval.harness --mode B0 --scenario B --n "$N" --seed "$SEED" --outdir "$OUT"
python3 -m hei_nw.eval.harness --mode B0 --scenario C --n "$N" --seed "$SEED" --outdir "$OUT"
python3 -m hei_nw.eval.harness --mode B0 --scenario D --n "$N" --seed "$SEED" --outdir "$OUT"
python3 -m hei_nw.eval.harness --mode B0 --scenario E --n "$N" --seed "$SEED" --outdir "$OUT" --baseline long-context
bash scripts/make_report.sh "$OUT"
echo "Reports: $OUT/ (summary: $OUT/README.md)"
