#!/usr/bin/env bash
# Repo guard: no stubs, placeholders or unfinished markers in code that ships or tests it.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
pattern='(TODO|FIXME|pass  # stub|raise NotImplementedError)'
if git grep -nE "$pattern" -- src scripts tests ':!scripts/grep_no_stubs.sh'; then
  echo "Stubs found (see above)." >&2
  exit 1
fi
echo "No stubs."
