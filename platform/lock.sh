#!/usr/bin/env bash
# Refresh platform/requirements.lock from pyproject.toml: every dependency and dev extra pinned with its hashes,
# for Python 3.11 on every platform (the lock is universal: Linux servers, the Docker image, developers' Macs).
#
# Deterministic and non-interactive: versions already pinned in the lock are kept while they still satisfy
# pyproject.toml; only new or changed requirements are resolved (to the newest release that fits). Run it after
# editing pyproject.toml, or after merging branches that did; tests/test_lock.py fails until the two agree.
# LOCK_UPGRADE=1 re-resolves everything to the newest releases allowed by pyproject.toml.
#
# Needs uv (a dev extra, pinned in pyproject.toml); falls back to `python -m uv` or a uv on the PATH.
set -euo pipefail
cd "$(dirname "$0")/.."
if [ -x .venv/bin/uv ]; then UV=.venv/bin/uv; elif command -v uv >/dev/null 2>&1; then UV=uv; else
  echo "uv not found: .venv/bin/python -m pip install 'uv==0.13.8' (a dev extra in pyproject.toml)" >&2; exit 1
fi
args=(pip compile --no-config --quiet pyproject.toml --extra dev --generate-hashes --universal
      --python-version 3.11 --custom-compile-command "bash platform/lock.sh" -o platform/requirements.lock)
[ "${LOCK_UPGRADE:-0}" = "1" ] && args+=(--upgrade)
"$UV" "${args[@]}"
echo "platform/requirements.lock: $(grep -cE '^[A-Za-z0-9]' platform/requirements.lock) pinned packages"
