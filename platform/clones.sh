#!/usr/bin/env bash
# No block of 11 or more identical lines (comments, docstrings and imports aside) may stand twice in the
# Python sources outside migrations: pylint's clone detector (symilar). Exits non-zero and lists them if any.
set -uo pipefail
cd "$(dirname "$0")/.."
out=$(git ls-files '*.py' | grep -v '/migrations/' | xargs .venv/bin/symilar -d 11 -i --ignore-docstrings --ignore-imports)
echo "$out" | tail -1
if ! echo "$out" | tail -1 | grep -q "duplicates=0 "; then
  echo "$out"
  echo "repeated blocks of 11+ lines: make one function serve both places"
  exit 1
fi
