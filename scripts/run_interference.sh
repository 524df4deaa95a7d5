#!/usr/bin/env bash
# Continual consolidation over waves: CA2 (with its need term) vs shuffled vs none under
# one fixed replay budget, several seeds, CA2 ablations, then the retention plots.
#
#   bash scripts/run_interference.sh                         # A and D, seeds 1-5
#   SCENARIOS=A SEEDS="1 2 3" ABLATIONS="" bash scripts/run_interference.sh
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
bash codex-env/setup.sh >/dev/null
SCENARIOS=${SCENARIOS:-"A D"}
SEEDS=${SEEDS:-"1 2 3 4 5"}
ABLATIONS=${ABLATIONS-"all minus_salience minus_recency minus_diversity minus_overlap minus_need"}
for S in $SCENARIOS; do
  out="reports/interference/$S"
  extra=()
  # shellcheck disable=SC2206
  [ -n "$ABLATIONS" ] && extra=(--ablations $ABLATIONS)
  # D's near-identical log lines barely pass the write gate (2-4 of ~40 per wave written),
  # so D is run with every episode written, as the retrieval benchmark runs it: the
  # question here is replay order, not the gate (reports/interference/README.md).
  [ "$S" = "D" ] && extra+=(--no-gate.use_for_writes)
  # shellcheck disable=SC2086
  python3 -m hei_nw.cli.interference --scenario "$S" --seeds $SEEDS "${extra[@]}" --out "$out" "$@"
  python3 scripts/plot_replay_retention.py --summary "$out/retention.json" --out "$out/retention.png"
done
echo "Retention: reports/interference/{$(echo $SCENARIOS | tr ' ' ,)}/retention.{png,json}"
