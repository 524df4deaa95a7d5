#!/usr/bin/env bash
# The main job: the whole idea on the default model in a few minutes on 2 CPU cores.
#
#   bash scripts/run_main.sh           # scenario A: gate -> B1 -> consolidation -> B2/B3 -> drift
#   bash scripts/run_main.sh --b0      # the B0 suite instead: scenarios A-E (the old main job)
#
# Reports: reports/main/ (A_{B0..B3}_metrics.json and _report.md, A_replay.{json,md},
# A_modes.png). Extra flags pass to python -m hei_nw.eval.replay_runner.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
bash codex-env/setup.sh >/dev/null
if [ "${1:-}" = "--b0" ]; then
  shift
  exec bash scripts/run_b0_small.sh "$@"
fi
OUT=reports/main
status=0
python3 -m hei_nw.eval.replay_runner --scenario A --n 24 --seed 7 --outdir "$OUT" \
  --artifacts artifacts/main/lora "$@" || status=$?
if [ "$status" -ne 0 ] && [ "$status" -ne 3 ]; then
  exit "$status"
fi
bash scripts/make_report.sh "$OUT" >/dev/null
echo "Results: $OUT/A_replay.md (table), $OUT/A_modes.png (plot)"
exit "$status"
