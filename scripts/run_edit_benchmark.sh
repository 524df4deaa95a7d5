#!/usr/bin/env bash
# Real-fact hot-patch benchmark: CounterFact and zsRE through B0, B1 (+ the plain
# retrieval baseline), LoRA consolidation, B2 and B3, for N edits live at once.
#
#   bash scripts/run_edit_benchmark.sh                         # N = 10 100 1000, both datasets
#   NS="10 100" DATASETS=zsre bash scripts/run_edit_benchmark.sh
#
# Data: ../shared/data (override with DATA_DIR). N larger than a file's record count is
# skipped with a message. Reports: reports/edits/{dataset}_N{N}_{mode}_{metrics.json,report.md},
# consolidation summaries, and reports/edits/summary.{json,md}.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
bash codex-env/setup.sh >/dev/null
DATA_DIR=${DATA_DIR:-../shared/data}
NS=${NS:-"10 100 1000"}
DATASETS=${DATASETS:-"counterfact zsre"}
OUT=${OUT:-reports/edits}
SEED=${SEED:-7}
declare -A FILES=(
  [counterfact]="$DATA_DIR/counterfact/counterfact-val.json"
  [zsre]="$DATA_DIR/zsre/zsre-sample-100.json"
)
for D in $DATASETS; do
  F=${FILES[$D]}
  [ -f "$F" ] || { echo "run_edit_benchmark.sh: $F not found; set DATA_DIR" >&2; exit 2; }
  total=$(python3 -c "import json,sys; print(len(json.load(open(sys.argv[1]))))" "$F")
  for N in $NS; do
    if [ "$N" -gt "$total" ]; then
      echo "skip $D N=$N: the file has $total records"
      continue
    fi
    common=(--scenario "$D" --data "$F" --edits "$N" --seed "$SEED" --outdir "$OUT")
    art="artifacts/edits/${D}_N$N"
    python3 -m hei_nw.eval.harness --mode B0 "${common[@]}"
    python3 -m hei_nw.eval.harness --mode B1 "${common[@]}" --baseline rag
    python3 -m hei_nw.cli.edit_consolidate --scenario "$D" --data "$F" --edits "$N" \
      --seed "$SEED" --artifacts "$art" --outdir "$OUT"
    python3 -m hei_nw.eval.harness --mode B2 "${common[@]}" --adapter.path "$art"
    python3 -m hei_nw.eval.harness --mode B3 "${common[@]}" --adapter.path "$art"
  done
done
python3 scripts/edit_summary.py --dir "$OUT"
echo "Reports: $OUT/ (summary.md)"
