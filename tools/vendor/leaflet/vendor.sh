#!/usr/bin/env bash
# Vendor Leaflet from the npm registry (exact version and integrity from package-lock.json) into
# static/vendor/leaflet/: the review map is served by the project, never from a CDN at run time.
# Usage: bash tools/vendor/leaflet/vendor.sh
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
root="$(cd "$here/../../.." && pwd)"
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
cp "$here/package.json" "$here/package-lock.json" "$work/"
(cd "$work" && npm ci --ignore-scripts --no-audit --no-fund >/dev/null)
dest="$root/static/vendor/leaflet"
rm -rf "$dest"
mkdir -p "$dest/images"
src="$work/node_modules/leaflet"
# the source map too: leaflet.js names it, and collectstatic's manifest storage refuses a missing reference
cp "$src/dist/leaflet.js" "$src/dist/leaflet.js.map" "$src/dist/leaflet.css" "$src/LICENSE" "$dest/"
cp "$src/dist/images/"*.png "$dest/images/"
version="$(node -p "require('$src/package.json').version")"
printf 'Leaflet %s (BSD-2-Clause), vendored from the npm registry by tools/vendor/leaflet/vendor.sh\n(package-lock.json pins the version and its integrity hash). Do not edit; re-run the script.\n' "$version" > "$dest/README.md"
echo "vendored leaflet $version into $dest"
