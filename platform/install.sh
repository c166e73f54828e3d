#!/usr/bin/env bash
# Create the virtualenv and install the project with its dev extras from platform/requirements.lock: the exact
# versions and hashes pinned there (platform/lock.sh makes it from pyproject.toml), so two installs a month
# apart are the same. VENV picks another virtualenv folder (default .venv).
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PYTHON:-python3.11}
command -v "$PY" >/dev/null 2>&1 || PY=python3
VENV=${VENV:-.venv}
if [ ! -x "$VENV/bin/python" ]; then
  "$PY" -m venv "$VENV"
fi
"$VENV/bin/python" -m pip install -q --upgrade pip
"$VENV/bin/python" -m pip install -q --require-hashes -r platform/requirements.lock
# The project itself: metadata only (its packages run from the source tree); its dependencies came from the lock.
"$VENV/bin/python" -m pip install -q --no-deps -e .
