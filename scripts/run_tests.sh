#!/usr/bin/env bash
# The project's test command: set-up, then every quality gate CI enforces.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
bash codex-env/setup.sh
echo "== black"; black --check src tests scripts
echo "== ruff";  ruff check src tests scripts
echo "== mypy";  mypy
echo "== no stubs"; bash scripts/grep_no_stubs.sh
echo "== pytest"; python3 -m pytest -q -m "not slow" "$@"
