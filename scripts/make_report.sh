#!/usr/bin/env bash
# Summarise every *_metrics.json in a report folder into <folder>/README.md.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
DIR=${1:-reports/baseline}
python3 -m hei_nw.cli.summary "$DIR"
