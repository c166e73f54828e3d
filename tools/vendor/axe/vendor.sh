#!/usr/bin/env bash
# Vendor axe-core from the npm registry (exact version and integrity from package-lock.json) into
# tests/browser/vendor/axe/: the browser page walk (tests/browser/test_page_walk.py) injects it into each
# page it checks. Test-only: it is not under static/, so it is never collected or served to users.
# Usage: bash tools/vendor/axe/vendor.sh
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
root="$(cd "$here/../../.." && pwd)"
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
cp "$here/package.json" "$here/package-lock.json" "$work/"
(cd "$work" && npm ci --ignore-scripts --no-audit --no-fund >/dev/null)
dest="$root/tests/browser/vendor/axe"
rm -rf "$dest"
mkdir -p "$dest"
src="$work/node_modules/axe-core"
cp "$src/axe.min.js" "$src/LICENSE" "$dest/"
version="$(node -p "require('$src/package.json').version")"
printf 'axe-core %s (MPL-2.0), vendored from the npm registry by tools/vendor/axe/vendor.sh\n(package-lock.json pins the version and its integrity hash). Do not edit; re-run the script.\n' "$version" > "$dest/README.md"
echo "vendored axe-core $version into $dest"
