#!/usr/bin/env bash
# M4 replay demo: B0 -> B1 (gated one-shot writes) -> CA2-scheduled replay into LoRA ->
# B2 (adapter + memory) and B3 (merged, memory off) -> drift guard.
#
#   bash scripts/run_m4_replay.sh --scenario A            # CPU default, about 15-20 min
#   bash scripts/run_m4_replay.sh --scenario B --n 128 --seed 13 --cycles 3 --outdir reports/m4-run2
#
# Any flag of `python -m hei_nw.eval.replay_runner --help` passes through. Reports go to
# --outdir (default reports/m4-run2), weights to --artifacts (default artifacts/m4/lora).
# Exits 3, after writing every report, when the drift guard fails (|ΔEM| > tolerance).
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
bash codex-env/setup.sh >/dev/null
OUTDIR=reports/m4-run2
args=("$@")
for ((i = 0; i < ${#args[@]}; i++)); do
  [ "${args[$i]}" = "--outdir" ] && OUTDIR=${args[$((i + 1))]:-$OUTDIR}
done
status=0
python3 -m hei_nw.eval.replay_runner "$@" || status=$?
if [ "$status" -ne 0 ] && [ "$status" -ne 3 ]; then
  exit "$status"
fi
bash scripts/make_report.sh "$OUTDIR" >/dev/null
echo "Reports: $OUTDIR/ (per-mode *_metrics.json/_report.md, *_replay.json/.md, README.md)"
exit "$status"
