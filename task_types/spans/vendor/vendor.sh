#!/usr/bin/env bash
# Vendor wavesurfer.js (the waveform and its regions plugin) from the npm registry into this folder.
# The version is pinned in package.json and package-lock.json (integrity hash); `npm ci` installs exactly
# that into a scratch folder (node_modules never lands in the package, whose folder is served as static
# files), and the two UMD builds plus the licence are copied here. The pages load them from 'self': no CDN.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
cp "$here/package.json" "$here/package-lock.json" "$work/"
(cd "$work" && npm ci --ignore-scripts --no-audit --no-fund >/dev/null)
dist="$work/node_modules/wavesurfer.js/dist"
cp "$dist/wavesurfer.min.js" "$here/wavesurfer.min.js"
cp "$dist/plugins/regions.min.js" "$here/regions.min.js"
cp "$work/node_modules/wavesurfer.js/LICENSE" "$here/LICENSE-wavesurfer.txt"
version="$(node -p "require('$work/node_modules/wavesurfer.js/package.json').version")"
echo "wavesurfer.js $version vendored into $here"
