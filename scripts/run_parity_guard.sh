#!/usr/bin/env bash
# Drift guard: B0 core-suite EM and held-out perplexity, base model vs consolidated
# (merged) model. Exits 3 when |ΔEM| exceeds the tolerance (default ±1 point).
#
#   bash scripts/run_parity_guard.sh [--adapter.path artifacts/m4/lora] [--out reports/m4/parity.json]
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
bash codex-env/setup.sh >/dev/null
python3 -m hei_nw.cli.parity "$@"
