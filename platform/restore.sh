#!/usr/bin/env bash
# Restore a backup made by platform/backup.sh into an EMPTY database and empty media folders.
#
#   createdb -h HOST -U postgres annotate_restored
#   DATABASE_URL=postgres://.../annotate_restored MEDIA_ROOT=/data/media PRIVATE_MEDIA_ROOT=/data/private \
#     bash platform/restore.sh DIR
#
# Checks the checksums first, restores the dump in one transaction (all or nothing), then unpacks the media.
# Afterwards: `manage.py migrate` (a no-op for a backup of the same release; applies newer migrations when
# restoring into a newer release) and start the processes; /readyz says when everything answers.
set -euo pipefail
cd "$(dirname "$0")/.."
: "${DATABASE_URL:?set DATABASE_URL}"
SRC=${1:?usage: $0 DIR}
MEDIA=${MEDIA_ROOT:-$PWD/media}
PRIVATE=${PRIVATE_MEDIA_ROOT:-$PWD/private-media}
(cd "$SRC" && sha256sum --check --quiet SHA256SUMS)
pg_restore --no-owner --no-privileges --exit-on-error --single-transaction --dbname "$DATABASE_URL" "$SRC/db.dump"
mkdir -p "$MEDIA" "$PRIVATE"
tar -C "$MEDIA" -xzf "$SRC/media.tar.gz"
tar -C "$PRIVATE" -xzf "$SRC/private-media.tar.gz"
echo "restored from $SRC"
